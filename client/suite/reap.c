/* Freeing the finished connections of a front's local socket (nymclient.h). */
#include <string.h>

#include "nymclient.h"

/* The list is walked through the address of each link (the head, then a node's next field);
 * pointers are moved with memcpy so that one function serves every node type. */
static void *link_get(const void *link)
{
	void *p;
	memcpy(&p, link, sizeof p);
	return p;
}

static void link_set(void *link, void *p)
{
	memcpy(link, &p, sizeof p);
}

size_t nc_reap_list(void *head, size_t next_off, int (*done)(const void *node),
                    void (*release)(void *node))
{
	char *link = head;
	size_t n = 0;
	for (void *node = link_get(link); node; node = link_get(link)) {
		char *next_field = (char *)node + next_off;
		if (!done(node)) {
			link = next_field;
			continue;
		}
		link_set(link, link_get(next_field));
		release(node);
		n++;
	}
	return n;
}
