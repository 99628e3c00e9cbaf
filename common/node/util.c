/* Small helpers of the node I/O layer: error texts, clock, ready file, address conversion. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loopback.h"
#include "node/node.h"

const char *ns_node_strerror(int err)
{
	switch (err) {
	case NS_NODE_ERR_ARG: return "bad argument";
	case NS_NODE_ERR_NOMEM: return "out of memory";
	case NS_NODE_ERR_FULL: return "queue full";
	case NS_NODE_ERR_ADDR: return "address not allowed";
	case NS_NODE_ERR_IO: return "socket error";
	case NS_NODE_ERR_REPLAY: return "replayed packet";
	case NS_NODE_ERR_EXPIRED_KEY: return "expired key";
	case NS_NODE_ERR_PACKET_TYPE: return "unsupported packet type";
	case NS_NODE_ERR_LIMIT: return "too many connections";
	default: return "?";
	}
}

const char *ns_frame_strerror(int err)
{
	switch (err) {
	case NYM_FRAME_ERR_VERSION: return "bad packet version (< 7)";
	case NYM_FRAME_ERR_UNSUPPORTED: return "unsupported packet version (> 8)";
	case NYM_FRAME_ERR_SIZE_TAG: return "bad packet size tag";
	case NYM_FRAME_ERR_TYPE: return "bad packet type";
	case NYM_FRAME_ERR_ROTATION: return "bad key rotation byte";
	case NYM_FRAME_ERR_PACKET_LEN: return "bad packet length";
	case NYM_FRAME_ERR_FAILED: return "decoder failed";
	default: return ns_node_strerror(err);
	}
}

uint64_t ns_node_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int ns_node_write_ready(const char *path)
{
	static const char text[] = "ready\n";
	if (!path || !*path)
		return -1;
	return ns_write_file_atomic(path, text, sizeof text - 1, 0644);
}

int ns_node_address_sockaddr(const struct nym_node_address *a, struct sockaddr_storage *ss,
                             socklen_t *len)
{
	if (!a || !ss || !len)
		return NS_NODE_ERR_ARG;
	memset(ss, 0, sizeof *ss);
	if (a->ip_version == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->ip, 4);
		*len = sizeof *in;
	} else if (a->ip_version == 6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		memcpy(&in6->sin6_addr, a->ip, 16);
		*len = sizeof *in6;
	} else {
		return NS_NODE_ERR_ADDR;
	}
	return 0;
}

int ns_node_address_is_loopback(const struct nym_node_address *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (ns_node_address_sockaddr(a, &ss, &len) != 0)
		return 0;
	return ns_is_loopback((const struct sockaddr *)&ss);
}

void ns_sockaddr_format(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
		port = ntohs(in->sin_port);
		snprintf(out, cap, "%s:%u", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
		port = ntohs(in6->sin6_port);
		snprintf(out, cap, "[%s]:%u", ip, port);
	} else {
		snprintf(out, cap, "?");
	}
}
