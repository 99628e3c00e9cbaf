/* JSON side of the websocket API codec. The input is one text frame:
 *  - as a ClientRequest: on success, to_text then from_text gives the same request, and
 *    to_binary/from_binary too (text connectionId 0 becomes binary None, as in Nym);
 *    on failure the error response must encode to JSON and parse back to the same error;
 *  - as a ServerResponse: on success, to_text then from_text gives the same response. */
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

static void same_request(const struct capi_request *a, const struct capi_request *b, int via_binary)
{
	int a_has = a->has_connection_id && !(via_binary && a->connection_id == 0);

	if (a->type != b->type || a->message_len != b->message_len ||
	    (a->message_len && memcmp(a->message, b->message, a->message_len)) ||
	    a->reply_surbs != b->reply_surbs ||
	    memcmp(&a->recipient, &b->recipient, sizeof a->recipient) ||
	    memcmp(a->sender_tag, b->sender_tag, sizeof a->sender_tag))
		abort();
	if (a->type <= CAPI_REQ_REPLY && (a_has != b->has_connection_id ||
	                                  (a_has && a->connection_id != b->connection_id)))
		abort();
}

static void check_request(const uint8_t *data, size_t size)
{
	struct capi_request req, again;
	struct capi_error err = {0};
	int rc = capi_request_from_text((const char *)data, size, &req, &err);

	if (rc == CAPI_OK) {
		size_t n;
		char *t = capi_request_to_text(&req, &n);
		uint8_t *b;
		if (!t)
			abort();
		if (capi_request_from_text(t, n, &again, &err) != CAPI_OK)
			abort();
		same_request(&req, &again, 0);
		capi_request_free(&again);
		free(t);
		b = capi_request_to_binary(&req, &n);
		if (!b || capi_request_from_binary(b, n, &again, &err) != CAPI_OK)
			abort();
		same_request(&req, &again, 1);
		capi_request_free(&again);
		free(b);
		capi_request_free(&req);
	} else if (rc == CAPI_ERR) {
		struct capi_response resp, back;
		size_t n;
		char *t;
		if (!err.message || err.kind != CAPI_MALFORMED_REQUEST)
			abort();
		if (capi_response_from_error(&resp, &err) != CAPI_OK)
			abort();
		t = capi_response_to_text(&resp, &n);
		if (!t || capi_response_from_text(t, n, &back, &err) != CAPI_OK)
			abort();
		if (back.type != CAPI_RESP_ERROR || back.error.kind != resp.error.kind ||
		    back.error.message_len != resp.error.message_len ||
		    memcmp(back.error.message, resp.error.message, back.error.message_len))
			abort();
		capi_response_free(&back);
		capi_response_free(&resp);
		free(t);
	} else if (rc != CAPI_ERR_UTF8 && rc != CAPI_ERR_TOO_BIG) {
		abort();
	}
	capi_error_free(&err);
}

static void check_response(const uint8_t *data, size_t size)
{
	struct capi_response resp, back;
	struct capi_error err = {0};
	size_t n;
	char *t;

	if (capi_response_from_text((const char *)data, size, &resp, &err) == CAPI_OK) {
		t = capi_response_to_text(&resp, &n);
		if (!t || capi_response_from_text(t, n, &back, &err) != CAPI_OK)
			abort();
		if (back.type != resp.type || back.message_len != resp.message_len ||
		    (resp.message_len && memcmp(back.message, resp.message, resp.message_len)) ||
		    back.has_sender_tag != resp.has_sender_tag || back.lane != resp.lane ||
		    back.queue_length != resp.queue_length ||
		    memcmp(&back.address, &resp.address, sizeof back.address) ||
		    back.error.kind != resp.error.kind ||
		    back.error.message_len != resp.error.message_len)
			abort();
		capi_response_free(&back);
		capi_response_free(&resp);
		free(t);
	}
	capi_error_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_response(data, size);
	return 0;
}
