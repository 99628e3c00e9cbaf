/* Traffic engine overhead per packet (no I/O: hooks only count). Prints numbers; exits
 * non-zero only if the engine loses or duplicates a packet. Fake clock, fixed-seed RNG. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "crypto.h"
#include "traffic.h"

#define MS 1000000ull
#define LANES 8
#define BATCH 64

struct bench {
	uint64_t now, rng;
	uint64_t real, cover;
};

static uint64_t b_now(void *ctx)
{
	return ((struct bench *)ctx)->now;
}

static uint64_t b_rand(void *ctx)
{
	struct bench *b = ctx;
	uint64_t z = (b->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int b_real(void *ctx, const struct ns_lane *lane, void *packet)
{
	(void)lane;
	(void)packet;
	((struct bench *)ctx)->real++;
	return 0;
}

static int b_cover(void *ctx, enum ns_cover_kind kind, uint64_t hop, int secondary)
{
	(void)kind;
	(void)hop;
	(void)secondary;
	((struct bench *)ctx)->cover++;
	return 0;
}

static void b_retx(void *ctx, const uint8_t id[NS_TRAFFIC_FRAG_ID_LEN], uint32_t n)
{
	(void)ctx;
	(void)id;
	(void)n;
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct ns_traffic *make(struct bench *b, const struct ns_traffic_config *c)
{
	struct ns_traffic_hooks h = { .ctx = b, .now_ns = b_now, .random_u64 = b_rand,
	                              .send_real = b_real, .send_cover = b_cover,
	                              .retransmit = b_retx };

	b->now = 1;
	b->rng = 7;
	return ns_traffic_new(c, &h);
}

static void frag_id(uint8_t out[NS_TRAFFIC_FRAG_ID_LEN], uint64_t n)
{
	out[0] = (uint8_t)(n >> 24) & 0x7f;
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	out[4] = 1;
}

/* No-delay mode: enqueue with fragment ids, send, ack. */
static int bench_no_delay(uint64_t total)
{
	struct ns_traffic_config c;
	struct bench b = { 0 };
	struct ns_traffic_item it[BATCH];
	struct ns_traffic *t;
	uint64_t n = 0;
	double t0, dt;

	ns_traffic_config_default(&c);
	ns_traffic_set_no_delay(&c);
	t = make(&b, &c);
	if (!t)
		return 1;
	ns_traffic_start(t);
	t0 = cpu_seconds();
	while (n < total) {
		struct ns_lane lane = { NS_LANE_CONNECTION, n / BATCH % LANES };

		for (size_t i = 0; i < BATCH; i++) {
			it[i] = (struct ns_traffic_item){ .packet = (void *)(uintptr_t)(n + i + 1),
			                                  .has_frag_id = 1, .total_delay_ns = 60 * MS,
			                                  .max_retransmissions = NS_TRAFFIC_UNLIMITED };
			frag_id(it[i].frag_id, n + i + 1);
		}
		if (ns_traffic_enqueue(t, &lane, it, BATCH) != 0)
			return 1;
		ns_traffic_run(t);
		for (size_t i = 0; i < BATCH; i++)
			if (ns_traffic_ack(t, it[i].frag_id) != 1)
				return 1;
		n += BATCH;
	}
	dt = cpu_seconds() - t0;
	printf("no-delay enqueue+send+ack  %9.0f packets/s  %6.1f ns/packet\n", (double)n / dt,
	       dt * 1e9 / (double)n);
	ns_traffic_free(t);
	return b.real == n ? 0 : 1;
}

/* Paced: default Poisson main stream and loop cover, lanes kept half full. */
static int bench_paced(uint64_t slots)
{
	struct ns_traffic_config c;
	struct bench b = { 0 };
	struct ns_traffic_item it[BATCH];
	struct ns_traffic *t;
	uint64_t queued = 0, done = 0;
	double t0, dt;

	ns_traffic_config_default(&c);
	t = make(&b, &c);
	if (!t)
		return 1;
	ns_traffic_start(t);
	t0 = cpu_seconds();
	while (done < slots) {
		if (done % (2 * BATCH) == 0) {
			struct ns_lane lane = { NS_LANE_CONNECTION, done % LANES };

			for (size_t i = 0; i < BATCH; i++)
				it[i] = (struct ns_traffic_item){ .packet = (void *)(uintptr_t)(i + 1) };
			if (ns_traffic_enqueue(t, &lane, it, BATCH) != 0)
				return 1;
			queued += BATCH;
		}
		b.now = ns_traffic_next_deadline(t);
		done += ns_traffic_run(t);
	}
	dt = cpu_seconds() - t0;
	printf("paced slots (real+cover)   %9.0f slots/s    %6.1f ns/slot (%llu real, %llu cover)\n",
	       (double)done / dt, dt * 1e9 / (double)done, (unsigned long long)b.real,
	       (unsigned long long)b.cover);
	ns_traffic_free(t);
	return b.real + b.cover == done && b.real <= queued ? 0 : 1;
}

int main(void)
{
	ns_crypto_init();
	if (bench_no_delay(2000000) != 0) {
		fprintf(stderr, "bench_traffic: no-delay run lost or duplicated packets\n");
		return 1;
	}
	if (bench_paced(2000000) != 0) {
		fprintf(stderr, "bench_traffic: paced run lost or duplicated packets\n");
		return 1;
	}
	return 0;
}
