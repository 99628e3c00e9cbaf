/* libcurl, loaded with dlopen by the processes that talk HTTP (netd, and `init`), so that
 * keyd, apid and the supervisor never map libcurl and what it pulls in (OpenSSL, GnuTLS,
 * Kerberos, p11-kit): less memory in every process, and no TLS or LDAP code in the address
 * space of the processes that hold keys or plaintext. Include this instead of <curl/curl.h>;
 * the curl_* names below then call through the table nc_curl_load() fills. */
#ifndef NC_CURL_DL_H
#define NC_CURL_DL_H
#include <stddef.h>

#define CURL_DISABLE_TYPECHECK 1 /* the type-checking macros would hide our redirection */
#include <curl/curl.h>

/* X(return type, name, parameters) */
#define NC_CURL_FUNCS(X) \
	X(CURLcode, global_init, (long flags)) \
	X(void, global_cleanup, (void)) \
	X(CURL *, easy_init, (void)) \
	X(CURLcode, easy_setopt, (CURL *curl, CURLoption option, ...)) \
	X(CURLcode, easy_perform, (CURL *curl)) \
	X(CURLcode, easy_getinfo, (CURL *curl, CURLINFO info, ...)) \
	X(void, easy_cleanup, (CURL *curl)) \
	X(const char *, easy_strerror, (CURLcode code)) \
	X(void, free, (void *p)) \
	X(struct curl_slist *, slist_append, (struct curl_slist *list, const char *s)) \
	X(void, slist_free_all, (struct curl_slist *list)) \
	X(CURLM *, multi_init, (void)) \
	X(CURLMcode, multi_setopt, (CURLM *m, CURLMoption option, ...)) \
	X(CURLMcode, multi_add_handle, (CURLM *m, CURL *e)) \
	X(CURLMcode, multi_remove_handle, (CURLM *m, CURL *e)) \
	X(CURLMcode, multi_assign, (CURLM *m, curl_socket_t s, void *p)) \
	X(CURLMcode, multi_socket_action, (CURLM *m, curl_socket_t s, int ev, int *running)) \
	X(CURLMsg *, multi_info_read, (CURLM *m, int *left)) \
	X(CURLMcode, multi_cleanup, (CURLM *m)) \
	X(CURLU *, url, (void)) \
	X(void, url_cleanup, (CURLU *u)) \
	X(CURLUcode, url_get, (const CURLU *u, CURLUPart what, char **part, unsigned int flags)) \
	X(CURLUcode, url_set, (CURLU *u, CURLUPart what, const char *part, unsigned int flags))

struct nc_curl_api {
#define NC_CURL_MEMBER_(ret, name, params) ret(*name) params;
	NC_CURL_FUNCS(NC_CURL_MEMBER_)
#undef NC_CURL_MEMBER_
};
extern struct nc_curl_api nc_curl;

/* dlopen("libcurl.so.4") and resolve every function (once; before any sandbox: it maps
 * executable code). 0, or -1 with the reason in err. */
int nc_curl_load(char *err, size_t errcap);

/* Between fetches netd needs none of the pages of libcurl and the libraries it brought
 * (OpenSSL, GnuTLS, Kerberos, LDAP, nghttp2 ...), but dlclose cannot unmap them: OpenSSL pins
 * itself (RTLD_NODELETE), and a library loaded after the sandbox would need executable
 * mappings, which the filter refuses. nc_curl_record_pages (after the libraries are
 * initialised, before the sandbox: it reads /proc/self/smaps) notes the ranges of those
 * libraries that are not writable and were never written (no private copy of a page: text,
 * read-only data); nc_curl_release_pages drops them from the process with
 * MADV_DONTNEED (the next use faults them back in from the file, as after the kernel reclaimed
 * them) and gives free heap back (malloc_trim). Returns the bytes of the ranges; 0 when
 * NC_CURL_KEEP_PAGES_ENV is set (the benchmark's baseline). */
#define NC_CURL_KEEP_PAGES_ENV "NYMSUITE_NETD_KEEP_LIBRARY_PAGES"
void nc_curl_record_pages(void);
size_t nc_curl_release_pages(void);

/* curl.h defines these three as function-like macros of themselves */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init nc_curl.global_init
#define curl_global_cleanup nc_curl.global_cleanup
#define curl_easy_init nc_curl.easy_init
#define curl_easy_setopt nc_curl.easy_setopt
#define curl_easy_perform nc_curl.easy_perform
#define curl_easy_getinfo nc_curl.easy_getinfo
#define curl_easy_cleanup nc_curl.easy_cleanup
#define curl_easy_strerror nc_curl.easy_strerror
#define curl_free nc_curl.free
#define curl_slist_append nc_curl.slist_append
#define curl_slist_free_all nc_curl.slist_free_all
#define curl_multi_init nc_curl.multi_init
#define curl_multi_setopt nc_curl.multi_setopt
#define curl_multi_add_handle nc_curl.multi_add_handle
#define curl_multi_remove_handle nc_curl.multi_remove_handle
#define curl_multi_assign nc_curl.multi_assign
#define curl_multi_socket_action nc_curl.multi_socket_action
#define curl_multi_info_read nc_curl.multi_info_read
#define curl_multi_cleanup nc_curl.multi_cleanup
#define curl_url nc_curl.url
#define curl_url_cleanup nc_curl.url_cleanup
#define curl_url_get nc_curl.url_get
#define curl_url_set nc_curl.url_set

#endif
