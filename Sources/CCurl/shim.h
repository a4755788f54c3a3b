#ifndef CARAVAN_CCURL_SHIM_H
#define CARAVAN_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic; Swift calls these typed wrappers. */
static inline CURLcode caravan_curl_setopt_long(CURL *curl, CURLoption option, long value) {
  return curl_easy_setopt(curl, option, value);
}
static inline CURLcode caravan_curl_setopt_string(CURL *curl, CURLoption option, const char *value) {
  return curl_easy_setopt(curl, option, value);
}
static inline CURLcode caravan_curl_setopt_pointer(CURL *curl, CURLoption option, void *value) {
  return curl_easy_setopt(curl, option, value);
}
static inline CURLcode caravan_curl_setopt_slist(CURL *curl, CURLoption option, struct curl_slist *value) {
  return curl_easy_setopt(curl, option, value);
}
typedef size_t (*caravan_curl_write_fn)(char *data, size_t size, size_t count, void *context);
static inline CURLcode caravan_curl_setopt_write(CURL *curl, caravan_curl_write_fn fn) {
  return curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fn);
}
static inline CURLcode caravan_curl_setopt_header(CURL *curl, caravan_curl_write_fn fn) {
  return curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, fn);
}
typedef size_t (*caravan_curl_read_fn)(char *buffer, size_t size, size_t count, void *context);
static inline CURLcode caravan_curl_setopt_read(CURL *curl, caravan_curl_read_fn fn) {
  return curl_easy_setopt(curl, CURLOPT_READFUNCTION, fn);
}
static inline CURLcode caravan_curl_setopt_offset(CURL *curl, CURLoption option, curl_off_t value) {
  return curl_easy_setopt(curl, option, value);
}
typedef int (*caravan_curl_progress_fn)(void *context, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
static inline CURLcode caravan_curl_setopt_progress(CURL *curl, caravan_curl_progress_fn fn) {
  return curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, fn);
}
static inline CURLcode caravan_curl_getinfo_long(CURL *curl, CURLINFO info, long *value) {
  return curl_easy_getinfo(curl, info, value);
}
static inline CURLcode caravan_curl_getinfo_string(CURL *curl, CURLINFO info, char **value) {
  return curl_easy_getinfo(curl, info, value);
}
static const unsigned long caravan_curlauth_bearer = CURLAUTH_BEARER;
#endif
