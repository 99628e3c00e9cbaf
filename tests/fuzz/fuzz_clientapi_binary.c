/* Binary side of the websocket API codec. First byte: even -> the rest is a ClientRequest
 * frame, odd -> a ServerResponse frame. A frame that parses must re-encode to the same bytes
 * (SelfAddress requests ignore trailing bytes, LaneQueueLength responses read 17 bytes) and
 * parse again to the same value; request messages also survive the text form (lossy UTF-8). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clientapi.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ns_crypto_init();
}

static void check_request(const uint8_t *in, size_t size)
{
	struct capi_request req, again;
	struct capi_error err = {0};
	uint8_t *b;
	char *t;
	size_t n, want;
	int rc = capi_request_from_binary(in, size, &req, &err);

	if (rc != CAPI_OK) {
		if (rc != CAPI_ERR || !err.message)
			abort();
		capi_error_free(&err);
		return;
	}
	b = capi_request_to_binary(&req, &n);
	want = req.type == CAPI_REQ_SELF_ADDRESS ? 1 : size;
	if (!b || n != want || memcmp(b, in, n))
		abort();
	free(b);
	t = capi_request_to_text(&req, &n);
	if (req.type >= CAPI_REQ_CLOSED_CONNECTION) {
		if (t)
			abort();
	} else {
		size_t ln;
		char *lossy = capi_utf8_lossy(req.message, req.message_len, &ln);
		if (!t || !lossy || capi_request_from_text(t, n, &again, &err) != CAPI_OK)
			abort();
		if (again.type != req.type || again.message_len != ln ||
		    (ln && memcmp(again.message, lossy, ln)) || again.has_connection_id != req.has_connection_id ||
		    again.connection_id != req.connection_id || again.reply_surbs != req.reply_surbs ||
		    memcmp(&again.recipient, &req.recipient, sizeof req.recipient) ||
		    memcmp(again.sender_tag, req.sender_tag, 16))
			abort();
		capi_request_free(&again);
		free(lossy);
		free(t);
	}
	capi_request_free(&req);
}

static void check_response(const uint8_t *in, size_t size)
{
	struct capi_response resp, again;
	struct capi_error err = {0};
	uint8_t *b;
	size_t n, want;
	int rc = capi_response_from_binary(in, size, &resp, &err);

	if (rc != CAPI_OK) {
		if (rc != CAPI_ERR || !err.message)
			abort();
		capi_error_free(&err);
		return;
	}
	b = capi_response_to_binary(&resp, &n);
	want = resp.type == CAPI_RESP_LANE_QUEUE_LENGTH ? 17 : size;
	if (!b || n != want || memcmp(b, in, n))
		abort();
	if (capi_response_from_binary(b, n, &again, &err) != CAPI_OK || again.type != resp.type)
		abort();
	capi_response_free(&again);
	free(b);
	capi_response_free(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		check_response(data + 1, size - 1);
	else
		check_request(data + 1, size - 1);
	return 0;
}
