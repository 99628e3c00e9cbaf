/* Messages between a SOCKS client and a Nym network requester, as nym@b4046a89 puts them on
 * the wire (service-providers/common/src/interface, common/socks5/requests).
 *
 * A request is Connect, Send, Query or Control; a response is NetworkData, ConnectionError,
 * Query or Control. Every message carries two versions: the service-provider interface
 * version and the socks5 protocol version. 0 stands for Legacy (no version byte on the
 * wire); a version byte is always >= 3.
 *
 * Decoders never copy: the pointers they set point into the input, which must outlive the
 * decoded struct. They read nothing past the input and return 0 or a negative nr_err.
 * Encoders take the same structs; with out == NULL they return the length they need. */
#ifndef NS_NR_PROTO_H
#define NS_NR_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NR_VERSION_LEGACY  0
#define NR_VERSION_CURRENT 3
#define NR_RETURN_ADDRESS_LEN 96
/* flag + conn_id + closed + seq: the smallest Send request content */
#define NR_SOCKET_DATA_HEADER_LEN 17

enum nr_err {
	NR_E_ARG = -1,            /* encoder: a field out of range (version 1..2, control in
	                           * Legacy mode, address longer than 65535, bad policy rule) */
	NR_E_SPACE = -2,          /* encoder: out too small */
	NR_E_EMPTY = -3,          /* no bytes at all */
	NR_E_NO_TAG = -4,         /* versioned: nothing after the interface version */
	NR_E_TAG = -5,            /* versioned: interface tag not 0 (Control) / 1 (ProviderData) */
	NR_E_NO_CONTROL = -6,     /* nothing after the Control tag */
	NR_E_CONTROL_TAG = -7,    /* unknown control request / response tag */
	NR_E_PROTO_VERSION = -8,  /* request with socks5 protocol version above 3 */
	NR_E_NO_FLAG = -9,        /* nothing after the socks5 version */
	NR_E_FLAG = -10,          /* unknown request / response flag */
	NR_E_CONN_ID = -11,       /* connection id cut short */
	NR_E_ADDR_LEN = -12,      /* Connect: address length cut short */
	NR_E_ADDR = -13,          /* Connect: fewer address bytes than its length says */
	NR_E_RETURN_LEN = -14,    /* Connect: trailing bytes neither 0 nor 96 */
	NR_E_RETURN_ADDR = -15,   /* Connect: return address keys are not valid points */
	NR_E_SOCKET_DATA = -16,   /* Send / NetworkData shorter than its 17-byte header */
	NR_E_UTF8 = -17,          /* text that Nym reads as a strict String is not UTF-8 */
	NR_E_BINCODE_SHORT = -18, /* bincode: input ends inside a value */
	NR_E_BINCODE_VARINT = -19, /* bincode: varint marker 254/255, or the value overflows */
	NR_E_BINCODE_VARIANT = -20, /* bincode: enum variant index out of range */
	NR_E_BINCODE_BOOL = -21,  /* bincode: bool byte not 0/1, Option tag not 0/1 */
	NR_E_BINCODE_TRAILING = -22, /* bincode: bytes left after the value */
	NR_E_POLICY_PATTERN = -23, /* exit policy: address pattern text Nym cannot parse */
	NR_E_JSON = -24,          /* control response: not the JSON Nym's serde_json accepts */
};

const char *nr_err_text(int err);

struct nr_versions {
	uint8_t iface; /* interface version: 0 Legacy, else >= 3 */
	uint8_t proto; /* socks5 protocol version: 0 Legacy, else >= 3 (0 for Control) */
};

enum nr_request_kind { NR_REQ_CONNECT, NR_REQ_SEND, NR_REQ_QUERY, NR_REQ_CONTROL };
enum nr_query { NR_QUERY_OPEN_PROXY = 0, NR_QUERY_DESCRIPTION = 1, NR_QUERY_EXIT_POLICY = 2 };
enum nr_control {
	NR_CONTROL_HEALTH = 0,
	NR_CONTROL_BINARY_INFO = 1,
	NR_CONTROL_SUPPORTED_VERSIONS = 2,
	NR_CONTROL_ERROR = 0xff, /* responses only */
};

struct nr_request {
	struct nr_versions v;
	enum nr_request_kind kind;
	uint64_t conn_id;            /* CONNECT, SEND */
	/* CONNECT: "host:port" bytes as sent. Nym decodes them lossily (invalid UTF-8 becomes
	 * U+FFFD) so the decoder accepts any bytes; the encoder requires UTF-8. */
	const uint8_t *addr;
	size_t addr_len;
	bool has_return_address;     /* CONNECT */
	uint8_t return_address[NR_RETURN_ADDRESS_LEN];
	bool local_closed;           /* SEND */
	uint64_t seq;                /* SEND */
	const uint8_t *data;         /* SEND */
	size_t data_len;
	enum nr_query query;         /* QUERY */
	enum nr_control control;     /* CONTROL: HEALTH, BINARY_INFO or SUPPORTED_VERSIONS */
};

int nr_request_decode(const uint8_t *in, size_t len, struct nr_request *req);
long nr_request_encode(const struct nr_request *req, uint8_t *out, size_t cap);

/* Exit policy (nym exit-policy AddressPolicy) as the ExitPolicy query response carries it. */
enum nr_policy_action {
	NR_POLICY_ACCEPT = 0,
	NR_POLICY_REJECT = 1,
	NR_POLICY_ACCEPT6 = 2,
	NR_POLICY_REJECT6 = 3,
};
enum nr_ip_pattern {
	NR_IP_ANY = 0,    /* "*" */
	NR_IP_ANY4 = 1,   /* "*4" */
	NR_IP_ANY6 = 2,   /* "*6" */
	NR_IP_V4 = 3,     /* addr[0..3] / mask 1..32 */
	NR_IP_V6 = 4,     /* addr[0..15] / mask 1..128 */
};
struct nr_policy_rule {
	enum nr_policy_action action;
	enum nr_ip_pattern pattern;
	uint8_t addr[16]; /* as written in the rule: host bits are kept, not masked off */
	uint8_t mask;
	uint16_t port_lo, port_hi; /* inclusive; "*" is 1-65535 */
};
/* the pattern as Nym prints it ("*", "*4", "*6", "10.0.0.0/8", "fc00::/7"): length or
 * NR_E_ARG / NR_E_SPACE; NR_IP_PATTERN_MAX always fits with its NUL */
#define NR_IP_PATTERN_MAX 64
long nr_ip_pattern_format(const struct nr_policy_rule *rule, char *out, size_t cap);
/* parses that text back (and every form Nym's IpPattern::from_str accepts): 0 or
 * NR_E_POLICY_PATTERN */
int nr_ip_pattern_parse(const char *text, size_t len, struct nr_policy_rule *rule);

enum nr_response_kind {
	NR_RESP_NETWORK_DATA,
	NR_RESP_CONNECTION_ERROR,
	NR_RESP_QUERY,
	NR_RESP_CONTROL,
};
enum nr_query_response {
	NR_QRESP_OPEN_PROXY = 0,
	NR_QRESP_DESCRIPTION = 1,
	NR_QRESP_EXIT_POLICY = 2,
	NR_QRESP_ERROR = 3,
};

/* BinaryInfo control response fields (serde_json writes them in this order) */
struct nr_binary_info {
	const char *binary_name;
	const char *build_timestamp, *build_version, *commit_sha, *commit_timestamp;
	const char *commit_branch, *rustc_version, *rustc_channel, *cargo_profile, *cargo_triple;
};

struct nr_response {
	struct nr_versions v;
	enum nr_response_kind kind;
	uint64_t conn_id;            /* NETWORK_DATA, CONNECTION_ERROR */
	bool closed;                 /* NETWORK_DATA */
	uint64_t seq;                /* NETWORK_DATA */
	const uint8_t *data;         /* NETWORK_DATA */
	size_t data_len;
	/* UTF-8 text: CONNECTION_ERROR message; QUERY Description, Error message, ExitPolicy
	 * upstream URL; CONTROL ERROR message (encoding only) */
	const char *text;
	size_t text_len;
	enum nr_query_response query; /* QUERY */
	bool open_proxy;             /* QUERY OPEN_PROXY */
	bool policy_enabled;         /* QUERY EXIT_POLICY */
	bool has_policy;             /* QUERY EXIT_POLICY: Some(policy) */
	/* encoding: the rules. decoding: rules is NULL, n_rules is their count and policy_wire
	 * holds their bincode bytes (read them with nr_response_policy_rules). */
	const struct nr_policy_rule *rules;
	size_t n_rules;
	const uint8_t *policy_wire;
	size_t policy_wire_len;
	enum nr_control control;     /* CONTROL */
	/* encoding: BINARY_INFO from binary_info; SUPPORTED_VERSIONS from supported (written as
	 * Nym's SupportedVersions JSON); ERROR from text.
	 * decoding: json/json_len is the validated JSON after the tag (not for HEALTH). */
	const struct nr_binary_info *binary_info;
	struct nr_versions supported;
	const uint8_t *json;
	size_t json_len;
};

int nr_response_decode(const uint8_t *in, size_t len, struct nr_response *resp);
long nr_response_encode(const struct nr_response *resp, uint8_t *out, size_t cap);
/* the decoded ExitPolicy rules: fills up to cap, returns how many there are in all */
size_t nr_response_policy_rules(const struct nr_response *resp, struct nr_policy_rule *out,
                                size_t cap);

#endif
