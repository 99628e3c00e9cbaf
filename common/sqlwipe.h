/* SQLite's memory, wiped when freed: an allocator installed before SQLite's first use in the
 * process (later SQLite refuses it and keeps its own), so pages that held a key (a gateway
 * shared key, a reply key) leave no copy behind in freed memory. Not thread-safe. */
#ifndef NS_SQLWIPE_H
#define NS_SQLWIPE_H

/* Idempotent; call before any other sqlite3_* call of the process. */
void ns_sqlwipe_setup(void);

#endif
