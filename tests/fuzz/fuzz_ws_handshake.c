/* The websocket handshake parsers on outside bytes. First input byte:
 *  bit 0 = 0: the rest is an upgrade request (server side); on success the parsed request must be
 *             coherent and survive build -> parse unchanged, and its 101 answer must parse back;
 *  bit 0 = 1: the rest is a server answer (client side) checked against a fixed accept value; on
 *             success that value must be in the head.
 *  bits 1..7 pick small limits, so the size/header-count limits are hit too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define FIXED_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static void check_request(const char *buf, size_t len, const ns_ws_limits *lim)
{
	ns_ws_request req;
	int n = ns_ws_parse_request(buf, len, lim, &req);
	CHECK(n <= (int)len);
	if (n <= 0)
		return;
	CHECK(req.path[0] == '/' && strlen(req.path) < NS_WS_MAX_PATH);
	CHECK(strlen(req.key) == NS_WS_KEY_LEN);
	CHECK(memcmp(buf + n - 4, "\r\n\r\n", 4) == 0);
	/* the head is complete at n, not before */
	ns_ws_request again;
	CHECK(ns_ws_parse_request(buf, (size_t)n, lim, &again) == n);
	CHECK(strcmp(again.path, req.path) == 0 && strcmp(again.key, req.key) == 0);

	char built[NS_WS_MAX_PATH + 256];
	int b = ns_ws_build_request(built, sizeof built, "127.0.0.1", 9000, req.path, req.key);
	CHECK(b > 0);
	CHECK(ns_ws_parse_request(built, (size_t)b, NULL, &again) == b);
	CHECK(strcmp(again.path, req.path) == 0 && strcmp(again.key, req.key) == 0);

	char answer[256], accept[NS_WS_ACCEPT_LEN + 1];
	int a = ns_ws_build_response(answer, sizeof answer, req.key);
	CHECK(a > 0);
	CHECK(ns_ws_accept_key(req.key, strlen(req.key), accept) == 0);
	int status = 0;
	CHECK(ns_ws_parse_response(answer, (size_t)a, NULL, accept, &status) == a && status == 101);
}

static void check_response(const char *buf, size_t len, const ns_ws_limits *lim)
{
	int status = -1;
	int n = ns_ws_parse_response(buf, len, lim, FIXED_ACCEPT, &status);
	CHECK(n <= (int)len);
	if (n == NS_WS_E_BAD_STATUS)
		CHECK(status >= 0 && status <= 999 && status != 101);
	if (n <= 0)
		return;
	CHECK(status == 101);
	CHECK(memmem(buf, (size_t)n, FIXED_ACCEPT, strlen(FIXED_ACCEPT)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		ns_crypto_init();
		init = 1;
	}
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	ns_ws_limits lim = { 0 };
	if (mode & 2)
		lim.max_handshake_bytes = 64 + (size_t)((mode >> 2) & 7) * 64;
	if (mode & 32)
		lim.max_headers = 1 + ((mode >> 6) & 3) * 2;
	/* a copy without spare bytes, so ASan sees any read past the end */
	char *buf = malloc(size - 1 ? size - 1 : 1);
	memcpy(buf, data + 1, size - 1);
	if (mode & 1)
		check_response(buf, size - 1, &lim);
	else
		check_request(buf, size - 1, &lim);
	free(buf);
	return 0;
}
