#ifndef CARAVAN_CARCHIVE_SHIM_H
#define CARAVAN_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

/* The AE_IF* file-type macros are casts, which Swift does not import. */
static const mode_t caravan_ae_ifmt = AE_IFMT;
static const mode_t caravan_ae_ifreg = AE_IFREG;
static const mode_t caravan_ae_ifdir = AE_IFDIR;
static const mode_t caravan_ae_iflnk = AE_IFLNK;
static const mode_t caravan_ae_ifchr = AE_IFCHR;
static const mode_t caravan_ae_ifblk = AE_IFBLK;
static const mode_t caravan_ae_ififo = AE_IFIFO;
static const mode_t caravan_ae_ifsock = AE_IFSOCK;
#endif
