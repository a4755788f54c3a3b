#ifndef CARAVAN_CZLIB_SHIM_H
#define CARAVAN_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit2 is a macro; Swift needs a function. */
static inline int caravan_inflate_init_gzip(z_streamp stream) {
  return inflateInit2(stream, 15 + 32); /* zlib or gzip header, detected */
}
#endif
