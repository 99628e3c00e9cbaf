/* nym-client websocket API codec (nym@b4046a89 clients/native/websocket-requests):
 * ClientRequest from/to binary and JSON text, ServerResponse from/to binary and JSON text.
 *
 * Text requests are parsed the way serde_json 1.0.141 + serde 1.0.219 parse Nym's
 * internally-tagged `ClientRequestText` enum, so that every bad input yields the same
 * `error` response text (including "at line L column C" positions). See docs/client-api.md. */
#ifndef NS_CLIENTAPI_H
#define NS_CLIENTAPI_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/address.h"

/* ErrorKind (error.rs); the byte is the binary error code. */
enum capi_error_kind {
	CAPI_EMPTY_REQUEST = 0x01,
	CAPI_TOO_SHORT_REQUEST = 0x02,
	CAPI_UNKNOWN_REQUEST = 0x03,
	CAPI_MALFORMED_REQUEST = 0x04,
	CAPI_EMPTY_RESPONSE = 0x80,
	CAPI_TOO_SHORT_RESPONSE = 0x81,
	CAPI_UNKNOWN_RESPONSE = 0x82,
	CAPI_MALFORMED_RESPONSE = 0x83,
	CAPI_OTHER = 0xFF,
};

/* Return codes of the decoders. */
enum capi_rc {
	CAPI_OK = 0,
	CAPI_ERR = -1,      /* bad input; *err holds the error Nym would answer with */
	CAPI_ERR_UTF8 = -2, /* text frame is not UTF-8 (tungstenite drops the connection) */
	CAPI_ERR_NOMEM = -3,
	CAPI_ERR_ARG = -4,
	CAPI_ERR_TOO_BIG = -5, /* over CAPI_MAX_TEXT (tungstenite's capacity error: no response) */
};

/* Largest text request we parse (tungstenite's default max message size, 64 MiB). */
#define CAPI_MAX_TEXT (64u << 20)

struct capi_error {
	uint8_t kind;      /* enum capi_error_kind */
	char *message;     /* malloc'd NUL-terminated detail (without the kind text) */
	size_t message_len;
};

enum capi_request_type {
	CAPI_REQ_SEND = 0,
	CAPI_REQ_SEND_ANONYMOUS = 1,
	CAPI_REQ_REPLY = 2,
	CAPI_REQ_SELF_ADDRESS = 3,
	CAPI_REQ_CLOSED_CONNECTION = 4,
	CAPI_REQ_GET_LANE_QUEUE_LENGTH = 5,
};

struct capi_request {
	enum capi_request_type type;
	struct nym_recipient recipient;          /* SEND, SEND_ANONYMOUS */
	uint8_t sender_tag[NYM_SENDER_TAG_LEN];  /* REPLY */
	uint32_t reply_surbs;                    /* SEND_ANONYMOUS */
	int has_connection_id;                   /* SEND*, REPLY: 0 = None (General lane) */
	uint64_t connection_id;                  /* also the id of CLOSED/GET_LANE */
	uint8_t *message;                        /* malloc'd (may be NULL when message_len == 0) */
	size_t message_len;
};

enum capi_response_type {
	CAPI_RESP_ERROR = 0,
	CAPI_RESP_RECEIVED = 1,
	CAPI_RESP_SELF_ADDRESS = 2,
	CAPI_RESP_LANE_QUEUE_LENGTH = 3,
};

struct capi_response {
	enum capi_response_type type;
	uint8_t *message;                        /* RECEIVED payload (malloc'd) */
	size_t message_len;
	int has_sender_tag;                      /* RECEIVED */
	uint8_t sender_tag[NYM_SENDER_TAG_LEN];
	struct nym_recipient address;            /* SELF_ADDRESS */
	uint64_t lane, queue_length;             /* LANE_QUEUE_LENGTH */
	struct capi_error error;                 /* ERROR */
};

/* "received request contained no data", ... (ErrorKind::as_str); "other" for unknown codes. */
const char *capi_error_kind_text(uint8_t kind);
/* Sets kind and a copy of msg; 0 or CAPI_ERR_NOMEM. */
int capi_error_set(struct capi_error *err, uint8_t kind, const char *msg, size_t len);
void capi_error_free(struct capi_error *err);

void capi_request_free(struct capi_request *req);
void capi_response_free(struct capi_response *resp);

/* ClientRequest::deserialize. On CAPI_ERR, *err is set (caller frees); *req untouched. */
int capi_request_from_binary(const uint8_t *in, size_t len, struct capi_request *req,
                             struct capi_error *err);
/* ClientRequest::try_from_text (serde_json::from_str + TryInto). */
int capi_request_from_text(const char *text, size_t len, struct capi_request *req,
                           struct capi_error *err);
/* ClientRequest::serialize. malloc'd; NULL on OOM or bad type. */
uint8_t *capi_request_to_binary(const struct capi_request *req, size_t *len);
/* serde_json::to_string(ClientRequestText); NULL for CLOSED/GET_LANE (no text form). */
char *capi_request_to_text(const struct capi_request *req, size_t *len);

/* ServerResponse::serialize / into_text. malloc'd; NULL on OOM. */
uint8_t *capi_response_to_binary(const struct capi_response *resp, size_t *len);
char *capi_response_to_text(const struct capi_response *resp, size_t *len);
/* ServerResponse::deserialize, but never panics: a short LaneQueueLength or Error frame is a
 * TooShortResponse error where Nym would index out of bounds. */
int capi_response_from_binary(const uint8_t *in, size_t len, struct capi_response *resp,
                              struct capi_error *err);
/* Parses ServerResponseText JSON. An `error` message "<kind text>:<detail>" gives back the
 * kind and detail; other messages come back whole with kind OTHER. */
int capi_response_from_text(const char *text, size_t len, struct capi_response *resp,
                            struct capi_error *err);

/* The ServerResponse for a failed request parse: copies err. */
int capi_response_from_error(struct capi_response *resp, const struct capi_error *err);

/* String::from_utf8_lossy: malloc'd, NUL-terminated. */
char *capi_utf8_lossy(const uint8_t *in, size_t len, size_t *out_len);
/* 1 if in is valid UTF-8 (as Rust str::from_utf8). */
int capi_utf8_valid(const uint8_t *in, size_t len);

#endif
