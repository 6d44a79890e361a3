// SPDX-License-Identifier: Apache-2.0
/*
 * blkmodel - ember's virtio-blk device model alone, host-only:
 * requests per second it completes from synthetic split rings in fake guest
 * memory, against a file in the page cache, compared with plain
 * preadv/pwritev of the same sizes at the same offsets on the same file.
 *
 *   blkmodel [-f FILE] [-s FILE_MIB] [-t SECONDS_PER_CASE]
 *
 * The device is driven as a guest driver would: requests (header, data,
 * status descriptors) are published in the avail ring in batches, a
 * QueueNotify write goes through the virtio-mmio transport, and completions
 * are read back from the used ring. Cases: 4 KiB random, 128 KiB and 1 MiB
 * sequential, read and write. Each case alternates model and plain rounds
 * (3 each) and reports the median. Prints one JSON line per case
 * ({"case":..,"model_rps":..,"plain_rps":..,"ratio":..}) and a table; exit 0.
 * The target (>= 0.90 of plain) is judged per case: PASS or MISS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "tests/unit/vq_fake.h"

#define RING     256
#define FEAT (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | \
	      VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))

struct bench {
	struct vqf_mem m;
	struct vqf_ring r;
	struct blk_dev *b;
	struct virtio_mmio t;
	int fd;                  /* the same file, for the plain syscalls */
	uint64_t file_bytes;
	uint64_t hdr[RING / 3], data[RING / 3], status[RING / 3];
	unsigned slots;
	uint64_t rng;
};

static void b_irq(void *opaque) { (void)opaque; }

static void b_kick(void *opaque, unsigned q)
{
	struct bench *b = opaque;
	b->b->vdev.ops->notify(&b->b->vdev, q);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(struct bench *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 0x2545F4914F6CDD1DULL;
}

/* The byte offset of request i of a case (random or sequential). */
static uint64_t offset_of(struct bench *b, bool random, uint32_t size, uint64_t *seq)
{
	uint64_t n = b->file_bytes / size;
	if (random)
		return (rnd(b) % n) * size;
	uint64_t off = *seq;
	*seq = (off + size + size > b->file_bytes) ? 0 : off + size;
	return off;
}

/* Model: batches of `batch` requests through the ring until `secs` pass. */
static double run_model(struct bench *b, bool write, bool random, uint32_t size, unsigned batch,
			double secs)
{
	uint64_t seq = 0, done = 0;
	uint32_t type = write ? 1 : 0; /* VIRTIO_BLK_T_OUT / T_IN */
	double t0 = now(), t;
	do {
		for (unsigned i = 0; i < batch; i++) {
			uint8_t *h = vqf_ptr(&b->m, b->hdr[i]);
			uint64_t sector = offset_of(b, random, size, &seq) / 512;
			memcpy(h, &type, 4);
			memset(h + 4, 0, 4);
			memcpy(h + 8, &sector, 8);
			uint16_t d = (uint16_t)(i * 3);
			vqf_desc(&b->r, d, b->hdr[i], 16, VIRTQ_DESC_F_NEXT, d + 1);
			vqf_desc(&b->r, d + 1, b->data[i], size,
				 VIRTQ_DESC_F_NEXT | (write ? 0 : VIRTQ_DESC_F_WRITE), d + 2);
			vqf_desc(&b->r, d + 2, b->status[i], 1, VIRTQ_DESC_F_WRITE, 0);
			vqf_avail(&b->r, d);
		}
		vqf_mmio_write(&b->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		uint32_t id, len;
		unsigned got = 0;
		while (vqf_used_next(&b->r, &id, &len))
			got++;
		if (got != batch) {
			fprintf(stderr, "blkmodel: %u of %u requests completed\n", got, batch);
			exit(1);
		}
		for (unsigned i = 0; i < batch; i++)
			if (*(uint8_t *)vqf_ptr(&b->m, b->status[i]) != 0) {
				fprintf(stderr, "blkmodel: request failed (status %u)\n",
					*(uint8_t *)vqf_ptr(&b->m, b->status[i]));
				exit(1);
			}
		done += batch;
		t = now();
	} while (t - t0 < secs);
	return (double)done / (t - t0);
}

/* Plain: one preadv/pwritev per request, same buffers, same offsets. */
static double run_plain(struct bench *b, bool write, bool random, uint32_t size, unsigned batch,
			double secs)
{
	uint64_t seq = 0, done = 0;
	double t0 = now(), t;
	do {
		for (unsigned i = 0; i < batch; i++) {
			struct iovec iov = { vqf_ptr(&b->m, b->data[i]), size };
			off_t off = (off_t)offset_of(b, random, size, &seq);
			ssize_t r = write ? pwritev(b->fd, &iov, 1, off) : preadv(b->fd, &iov, 1, off);
			if (r != (ssize_t)size) {
				perror("blkmodel: plain I/O");
				exit(1);
			}
		}
		done += batch;
		t = now();
	} while (t - t0 < secs);
	return (double)done / (t - t0);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *path = "/dev/shm/ember-blkmodel.img";
	unsigned file_mib = 256;
	double secs = 0.5;
	int opt;
	while ((opt = getopt(argc, argv, "f:s:t:")) != -1) {
		switch (opt) {
		case 'f': path = optarg; break;
		case 's': file_mib = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': secs = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: blkmodel [-f FILE] [-s FILE_MIB] [-t SECONDS]\n");
			return 2;
		}
	}
	static struct bench b;
	b.rng = 0x9e3779b97f4a7c15ULL;
	b.file_bytes = (uint64_t)file_mib << 20;
	/* The file, written once so it is in the page cache. */
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "blkmodel: %s: %s\n", path, strerror(errno));
		return 1;
	}
	static char chunk[1 << 20];
	memset(chunk, 0x5a, sizeof(chunk));
	for (unsigned i = 0; i < file_mib; i++)
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk)) {
			fprintf(stderr, "blkmodel: writing %s: %s\n", path, strerror(errno));
			return 1;
		}
	b.fd = fd;
	int dfd = open(path, O_RDWR | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, "blkmodel: %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* Fake RAM: the rings plus RING/3 buffers of up to 1 MiB. */
	b.slots = RING / 3;
	vqf_mem_init(&b.m, (uint64_t)(b.slots + 2) << 20);
	vqf_ring_init(&b.r, &b.m, RING);
	for (unsigned i = 0; i < b.slots; i++) {
		b.hdr[i] = vqf_alloc(&b.m, 16);
		b.status[i] = vqf_alloc(&b.m, 16);
	}
	for (unsigned i = 0; i < b.slots; i++) {
		b.data[i] = vqf_alloc(&b.m, (1 << 20) + 4096);
		b.data[i] = (b.data[i] + 4095) & ~4095ULL;
	}
	struct blk_params p = { .drive_id = "bench", .fd = dfd };
	char err[256];
	if (blk_create(&p, &b.m.mem, &b.b, err, sizeof(err)) != 0) {
		fprintf(stderr, "blkmodel: %s\n", err);
		return 1;
	}
	virtio_mmio_init(&b.t, &b.b->vdev, b_irq, b_kick, &b);
	uint32_t st = vqf_mmio_bringup(&b.t, FEAT, &b.r, 1);
	if (!(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_NEEDS_RESET)) {
		fprintf(stderr, "blkmodel: device bring-up failed (status 0x%x)\n", st);
		return 1;
	}

	static const struct { const char *name; bool random; uint32_t size; unsigned batch; } cases[] = {
		{ "4k-random", true, 4096, 64 },
		{ "128k-seq", false, 128 << 10, 32 },
		{ "1m-seq", false, 1 << 20, 16 },
	};
	printf("| case | ember model (req/s) | plain preadv/pwritev (req/s) | ratio | target >= 0.90 |\n");
	printf("|---|---|---|---|---|\n");
	char lines[16][256];
	unsigned nl = 0;
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int w = 0; w <= 1; w++) {
			double mr[3], pr[3];
			for (int k = 0; k < 3; k++) {
				mr[k] = run_model(&b, w, cases[c].random, cases[c].size, cases[c].batch, secs);
				pr[k] = run_plain(&b, w, cases[c].random, cases[c].size, cases[c].batch, secs);
			}
			qsort(mr, 3, sizeof(double), cmp_d);
			qsort(pr, 3, sizeof(double), cmp_d);
			double ratio = mr[1] / pr[1];
			printf("| %s %s | %.0f | %.0f | %.2f | %s |\n", cases[c].name, w ? "write" : "read",
			       mr[1], pr[1], ratio, ratio >= 0.90 ? "PASS" : "MISS");
			snprintf(lines[nl++], sizeof(lines[0]),
				 "{\"bench\":\"blkmodel\",\"case\":\"%s-%s\",\"size\":%u,\"model_rps\":%.1f,"
				 "\"plain_rps\":%.1f,\"ratio\":%.4f,\"target\":0.9,\"verdict\":\"%s\"}",
				 cases[c].name, w ? "write" : "read", cases[c].size, mr[1], pr[1], ratio,
				 ratio >= 0.90 ? "PASS" : "MISS");
		}
	}
	for (unsigned i = 0; i < nl; i++)
		printf("%s\n", lines[i]);
	blk_destroy(b.b);
	close(fd);
	unlink(path);
	vqf_mem_free(&b.m);
	return 0;
}
