// SPDX-License-Identifier: Apache-2.0
/*
 * blkmodel - ember's virtio-blk device model alone, host-only:
 * requests per second it completes from synthetic split rings in fake guest
 * memory, against a file in the page cache, compared with plain
 * preadv/pwritev of the same sizes at the same offsets on the same file.
 *
 *   blkmodel [-f FILE] [-s FILE_MIB] [-t SECONDS_PER_CASE] [-c COLD_FILE]
 *
 * The device is driven as a guest driver would: requests (header, data,
 * status descriptors) are published in the avail ring in batches, a
 * QueueNotify write goes through the virtio-mmio transport, and completions
 * are read back from the used ring. Two devices over the same file, side by
 * side: io_engine Sync (served inside the notify) and io_engine Async (the
 * io_uring engine: the batch is submitted at the notify and completed by
 * handling the engine's eventfd, as the event loop does). Cases: 4 KiB
 * random, 128 KiB and 1 MiB sequential, read and write, on FILE (page
 * cached); and 4 KiB random reads with 32 in flight on COLD_FILE (default
 * build/bench/blkmodel-cold.img, on a disk file system), dropped from the
 * page cache (posix_fadvise DONTNEED) before every round. Each case
 * alternates Sync, Async and plain rounds (3 each) and reports the medians.
 * Prints one JSON line per case and engine ({"case":..,"engine":..,
 * "model_rps":..,"plain_rps":..,"ratio":..}) and a table; exit 0. The
 * target (>= 0.90 of plain) is judged per case and engine: PASS or MISS;
 * for the cold case, Async must beat Sync (no plain side: plain preadv
 * would be one request at a time like Sync).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

struct side {                    /* one device and its ring */
	struct vqf_ring r;
	struct blk_dev *b;
	struct virtio_mmio t;
};

struct bench {
	struct vqf_mem m;
	struct side sync, async;
	int fd;                  /* the same file, for the plain syscalls */
	uint64_t file_bytes;
	uint64_t hdr[RING / 3], data[RING / 3], status[RING / 3];
	unsigned slots;
	uint64_t rng;
};

static void b_irq(void *opaque) { (void)opaque; }

static void b_kick(void *opaque, unsigned q)
{
	struct side *d = opaque;
	d->b->vdev.ops->notify(&d->b->vdev, q);
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

/* Model: batches of `batch` requests through d's ring until `secs` pass. */
static double run_model(struct bench *b, struct side *d, bool write, bool random, uint32_t size,
			unsigned batch, double secs)
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
			uint16_t di = (uint16_t)(i * 3);
			vqf_desc(&d->r, di, b->hdr[i], 16, VIRTQ_DESC_F_NEXT, di + 1);
			vqf_desc(&d->r, di + 1, b->data[i], size,
				 VIRTQ_DESC_F_NEXT | (write ? 0 : VIRTQ_DESC_F_WRITE), di + 2);
			vqf_desc(&d->r, di + 2, b->status[i], 1, VIRTQ_DESC_F_WRITE, 0);
			vqf_avail(&d->r, di);
		}
		vqf_mmio_write(&d->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		uint32_t id, len;
		unsigned got = 0;
		for (;;) {
			while (vqf_used_next(&d->r, &id, &len))
				got++;
			if (got >= batch || blk_io_fd(d->b) < 0)
				break;
			/* Async: what the event loop does when the eventfd fires. */
			struct pollfd p = { .fd = blk_io_fd(d->b), .events = POLLIN };
			if (poll(&p, 1, 10000) != 1) {
				fprintf(stderr, "blkmodel: no completion in 10 s\n");
				exit(1);
			}
			blk_io_event(d->b);
		}
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

/* A device of engine `async` over its own fd of path, on a ring of its own. */
static void side_init(struct bench *b, struct side *d, const char *path, bool async)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "blkmodel: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	vqf_ring_init(&d->r, &b->m, RING);
	struct blk_params p = { .drive_id = async ? "async" : "sync", .fd = fd, .async = async };
	char err[256];
	if (blk_create(&p, &b->m.mem, &d->b, err, sizeof(err)) != 0) {
		fprintf(stderr, "blkmodel: %s\n", err);
		exit(1);
	}
	virtio_mmio_init(&d->t, &d->b->vdev, b_irq, b_kick, d);
	uint32_t st = vqf_mmio_bringup(&d->t, FEAT, &d->r, 1);
	if (!(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_NEEDS_RESET)) {
		fprintf(stderr, "blkmodel: device bring-up failed (status 0x%x)\n", st);
		exit(1);
	}
}

/* A file of mib MiB of 0x5a; returns an fd of it (read-write). */
static int make_file(const char *path, unsigned mib)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "blkmodel: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	static char chunk[1 << 20];
	memset(chunk, 0x5a, sizeof(chunk));
	for (unsigned i = 0; i < mib; i++)
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk)) {
			fprintf(stderr, "blkmodel: writing %s: %s\n", path, strerror(errno));
			exit(1);
		}
	return fd;
}

static double median3(double v[3])
{
	qsort(v, 3, sizeof(double), cmp_d);
	return v[1];
}

static const char *verdict(double ratio, double target)
{
	return ratio >= target ? "PASS" : "MISS";
}

int main(int argc, char **argv)
{
	const char *path = "/dev/shm/ember-blkmodel.img";
	const char *cold = "build/bench/blkmodel-cold.img";
	unsigned file_mib = 256;
	double secs = 0.5;
	int opt;
	while ((opt = getopt(argc, argv, "f:s:t:c:")) != -1) {
		switch (opt) {
		case 'f': path = optarg; break;
		case 's': file_mib = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': secs = strtod(optarg, NULL); break;
		case 'c': cold = optarg; break;
		default:
			fprintf(stderr, "usage: blkmodel [-f FILE] [-s FILE_MIB] [-t SECONDS] "
				"[-c COLD_FILE]\n");
			return 2;
		}
	}
	static struct bench b;
	b.rng = 0x9e3779b97f4a7c15ULL;
	b.file_bytes = (uint64_t)file_mib << 20;
	/* The file, written once so it is in the page cache. */
	b.fd = make_file(path, file_mib);
	/* Fake RAM: the rings plus RING/3 buffers of up to 1 MiB. */
	b.slots = RING / 3;
	vqf_mem_init(&b.m, (uint64_t)(b.slots + 2) << 20);
	for (unsigned i = 0; i < b.slots; i++) {
		b.hdr[i] = vqf_alloc(&b.m, 16);
		b.status[i] = vqf_alloc(&b.m, 16);
	}
	for (unsigned i = 0; i < b.slots; i++) {
		b.data[i] = vqf_alloc(&b.m, (1 << 20) + 4096);
		b.data[i] = (b.data[i] + 4095) & ~4095ULL;
	}
	side_init(&b, &b.sync, path, false);
	side_init(&b, &b.async, path, true);

	static const struct { const char *name; bool random; uint32_t size; unsigned batch; } cases[] = {
		{ "4k-random", true, 4096, 64 },
		{ "128k-seq", false, 128 << 10, 32 },
		{ "1m-seq", false, 1 << 20, 16 },
	};
	printf("| case | Sync model (req/s) | Async model (req/s) | plain preadv/pwritev (req/s) "
	       "| Sync ratio | Async ratio | target >= 0.90 (Sync, Async) |\n");
	printf("|---|---|---|---|---|---|---|\n");
	char lines[32][320];
	unsigned nl = 0;
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int w = 0; w <= 1; w++) {
			double sr[3], ar[3], pr[3];
			for (int k = 0; k < 3; k++) {
				sr[k] = run_model(&b, &b.sync, w, cases[c].random, cases[c].size,
						  cases[c].batch, secs);
				ar[k] = run_model(&b, &b.async, w, cases[c].random, cases[c].size,
						  cases[c].batch, secs);
				pr[k] = run_plain(&b, w, cases[c].random, cases[c].size, cases[c].batch,
						  secs);
			}
			double sm = median3(sr), am = median3(ar), pm = median3(pr);
			printf("| %s %s | %.0f | %.0f | %.0f | %.2f | %.2f | %s, %s |\n", cases[c].name,
			       w ? "write" : "read", sm, am, pm, sm / pm, am / pm,
			       verdict(sm / pm, 0.90), verdict(am / pm, 0.90));
			for (int e = 0; e < 2; e++) {
				double m = e ? am : sm;
				snprintf(lines[nl++], sizeof(lines[0]),
					 "{\"bench\":\"blkmodel\",\"case\":\"%s-%s\",\"engine\":\"%s\","
					 "\"size\":%u,\"model_rps\":%.1f,\"plain_rps\":%.1f,"
					 "\"ratio\":%.4f,\"target\":0.9,\"verdict\":\"%s\"}",
					 cases[c].name, w ? "write" : "read", e ? "Async" : "Sync",
					 cases[c].size, m, pm, m / pm, verdict(m / pm, 0.90));
			}
		}
	}

	/* Cold: 4 KiB random reads, 32 in flight, on a file dropped from the
	 * page cache before every round; Async must beat Sync. */
	unsigned cold_mib = 256;
	int cfd = make_file(cold, cold_mib);
	fsync(cfd);
	blk_destroy(b.sync.b);
	blk_destroy(b.async.b);
	side_init(&b, &b.sync, cold, false);
	side_init(&b, &b.async, cold, true);
	b.file_bytes = (uint64_t)cold_mib << 20;
	double sr[3], ar[3];
	for (int k = 0; k < 3; k++) {
		posix_fadvise(cfd, 0, 0, POSIX_FADV_DONTNEED);
		sr[k] = run_model(&b, &b.sync, false, true, 4096, 32, secs);
		posix_fadvise(cfd, 0, 0, POSIX_FADV_DONTNEED);
		ar[k] = run_model(&b, &b.async, false, true, 4096, 32, secs);
	}
	double sm = median3(sr), am = median3(ar);
	printf("\n| case | Sync model (req/s) | Async model (req/s) | Async / Sync | target > 1 |\n");
	printf("|---|---|---|---|---|\n");
	printf("| 4k-random-cold read, 32 in flight | %.0f | %.0f | %.2f | %s |\n", sm, am, am / sm,
	       am > sm ? "PASS" : "MISS");
	snprintf(lines[nl++], sizeof(lines[0]),
		 "{\"bench\":\"blkmodel\",\"case\":\"4k-random-cold-read-qd32\",\"size\":4096,"
		 "\"sync_rps\":%.1f,\"async_rps\":%.1f,\"ratio\":%.4f,\"target\":1,"
		 "\"verdict\":\"%s\"}", sm, am, am / sm, am > sm ? "PASS" : "MISS");
	for (unsigned i = 0; i < nl; i++)
		printf("%s\n", lines[i]);
	blk_destroy(b.sync.b);
	blk_destroy(b.async.b);
	close(cfd);
	unlink(cold);
	close(b.fd);
	unlink(path);
	vqf_mem_free(&b.m);
	return 0;
}
