// SPDX-License-Identifier: Apache-2.0
/*
 * snapshot_state.c - a snapshot's state as sections of the state file, both
 * ways (see snapshot_state.h; the field lists are docs/snapshot.md's
 * section 2, in the same order). Decoding checks every value before it is
 * kept.
 *
 * Over 600 lines on purpose: each section's encoder and its checking decoder
 * sit side by side so a field added to one is seen missing from the other,
 * and the file reads as docs/snapshot.md does; split by section it would
 * scatter that pairing over files.
 */
#include "src/snapshot_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/snapshot.h"
#include "virtio/virtio.h"

void snapshot_state_free(struct snapshot_state *st)
{
	for (unsigned i = 0; i < LAYOUT_MAX_VCPUS; i++)
		x86_vcpu_state_free(&st->vcpu[i]);
}

/* ---- encoding ---- */

static void enc_bucket_config(struct snap_writer *w, const struct ratelimit_bucket_config *b)
{
	snap_w_u8(w, b->set);
	snap_w_u64(w, b->size);
	snap_w_u64(w, b->one_time_burst);
	snap_w_u64(w, b->refill_time_ms);
}

static void enc_limiter(struct snap_writer *w, const struct ratelimit_config *rl)
{
	enc_bucket_config(w, &rl->bandwidth);
	enc_bucket_config(w, &rl->ops);
}

static void enc_bucket(struct snap_writer *w, const struct ratelimit_bucket_state *b)
{
	snap_w_u8(w, b->on);
	snap_w_u64(w, b->size);
	snap_w_u64(w, b->refill_ns);
	snap_w_u64(w, (uint64_t)b->budget);
}

static void enc_buckets(struct snap_writer *w, const struct ratelimit_state *rl)
{
	enc_bucket(w, &rl->bw);
	enc_bucket(w, &rl->ops);
}

static void enc_vm(struct snap_writer *w, const struct snapshot_state *st)
{
	snap_w_begin(w, SNAPSHOT_SEC_VM, 0);
	snap_w_u64(w, st->mem_size);
	snap_w_u32(w, st->nvcpus);
	snap_w_u32(w, st->flags);
	snap_w_u32(w, st->vm.tsc_khz);
	snap_w_u64(w, st->vm.realtime_ns);
	snap_w_blob(w, &st->vm.clock, sizeof(st->vm.clock));
	snap_w_blob(w, &st->vm.pit, sizeof(st->vm.pit));
	for (int i = 0; i < 3; i++)
		snap_w_blob(w, &st->vm.chip[i], sizeof(st->vm.chip[i]));
	snap_w_end(w);
}

static void enc_config(struct snap_writer *w, const struct vm_config *c)
{
	snap_w_begin(w, SNAPSHOT_SEC_CONFIG, 0);
	snap_w_u32(w, c->machine.vcpu_count);
	snap_w_u64(w, c->machine.mem_size_mib);
	snap_w_u8(w, c->machine.smt);
	snap_w_u8(w, c->machine.track_dirty_pages);
	snap_w_u8(w, c->machine.huge_pages == CONFIG_HUGE_2M);
	snap_w_u8(w, (uint8_t)c->machine.cpu_template);
	snap_w_str(w, c->boot.kernel_path);
	snap_w_str(w, c->boot.initrd_path);
	snap_w_u8(w, c->boot.boot_args_set);
	snap_w_str(w, c->boot.boot_args);
	snap_w_u32(w, c->ndrives);
	for (unsigned i = 0; i < c->ndrives; i++) {
		const struct config_drive *d = &c->drives[i];
		snap_w_str(w, d->drive_id);
		snap_w_str(w, d->path_on_host);
		snap_w_u8(w, d->is_root_device);
		snap_w_u8(w, d->is_read_only);
		snap_w_str(w, d->partuuid);
		snap_w_u8(w, d->cache_type == CONFIG_CACHE_WRITEBACK);
		snap_w_u8(w, d->io_engine == CONFIG_IO_ASYNC);
		enc_limiter(w, &d->rate_limiter);
	}
	snap_w_u32(w, c->nnets);
	for (unsigned i = 0; i < c->nnets; i++) {
		const struct config_net *n = &c->nets[i];
		snap_w_str(w, n->iface_id);
		snap_w_str(w, n->host_dev_name);
		snap_w_u8(w, n->has_guest_mac);
		snap_w_bytes(w, n->guest_mac, 6);
		snap_w_u32(w, n->mtu);
		enc_limiter(w, &n->rx_rate_limiter);
		enc_limiter(w, &n->tx_rate_limiter);
	}
	enc_bucket_config(w, &c->serial.rate_limiter);
	snap_w_end(w);
}

static void enc_vcpu(struct snap_writer *w, unsigned index, const struct x86_vcpu_state *v)
{
	snap_w_begin(w, SNAPSHOT_SEC_VCPU, index);
	snap_w_blob(w, &v->regs, sizeof(v->regs));
	snap_w_blob(w, &v->sregs, sizeof(v->sregs));
	snap_w_blob(w, &v->fpu, sizeof(v->fpu));
	snap_w_blob(w, v->xsave, v->xsave_len);
	snap_w_blob(w, &v->xcrs, sizeof(v->xcrs));
	snap_w_blob(w, &v->lapic, sizeof(v->lapic));
	snap_w_blob(w, &v->mp, sizeof(v->mp));
	snap_w_blob(w, &v->events, sizeof(v->events));
	snap_w_blob(w, &v->dregs, sizeof(v->dregs));
	snap_w_u32(w, v->tsc_khz);
	snap_w_u32(w, v->nmsrs);
	for (uint32_t i = 0; i < v->nmsrs; i++) {
		snap_w_u32(w, v->msrs[i].index);
		snap_w_u64(w, v->msrs[i].data);
	}
	snap_w_u32(w, v->ncpuid);
	for (uint32_t i = 0; i < v->ncpuid; i++) {
		const struct kvm_cpuid_entry2 *e = &v->cpuid[i];
		snap_w_u32(w, e->function);
		snap_w_u32(w, e->index);
		snap_w_u32(w, e->flags);
		snap_w_u32(w, e->eax);
		snap_w_u32(w, e->ebx);
		snap_w_u32(w, e->ecx);
		snap_w_u32(w, e->edx);
	}
	snap_w_end(w);
}

static void enc_legacy(struct snap_writer *w, const struct snapshot_state *st)
{
	const struct serial_state *s = &st->serial;
	snap_w_begin(w, SNAPSHOT_SEC_SERIAL, 0);
	const uint8_t regs[] = { s->ier, s->lcr, s->mcr, s->lsr_extra, s->msr, s->scr, s->dll,
				 s->dlm, s->fcr, s->thr_irq_pending, s->irq_level };
	snap_w_bytes(w, regs, sizeof(regs));
	snap_w_blob(w, s->rx, s->rx_len);
	enc_bucket(w, &s->out_limit);
	snap_w_end(w);

	const struct i8042_state *k = &st->i8042;
	snap_w_begin(w, SNAPSHOT_SEC_I8042, 0);
	const uint8_t kregs[] = { k->status, k->ctr, k->outp, k->cmd, k->kbd_arg_of, k->kbd_last };
	snap_w_bytes(w, kregs, sizeof(kregs));
	snap_w_blob(w, k->buf, k->len);
	snap_w_end(w);
}

static void enc_virtio(struct snap_writer *w, unsigned index, const struct devices_state *d)
{
	snap_w_begin(w, SNAPSHOT_SEC_VIRTIO, index);
	snap_w_u32(w, d->type);
	snap_w_str(w, d->id);
	const struct virtio_mmio_state *m = &d->mmio;
	snap_w_u32(w, m->status);
	snap_w_u64(w, m->driver_features);
	snap_w_u32(w, m->config_generation);
	snap_w_u32(w, m->isr);
	snap_w_u32(w, m->device_features_sel);
	snap_w_u32(w, m->driver_features_sel);
	snap_w_u32(w, m->queue_sel);
	snap_w_u32(w, m->nqueues);
	for (unsigned i = 0; i < m->nqueues && i < VIRTIO_MMIO_STATE_QUEUES; i++) {
		const struct virtq_state *q = &m->q[i];
		snap_w_u16(w, q->num_max);
		snap_w_u16(w, q->num);
		const uint8_t b[] = { q->ready, q->active, q->broken, q->event_idx, q->indirect };
		snap_w_bytes(w, b, sizeof(b));
		snap_w_u64(w, q->desc_gpa);
		snap_w_u64(w, q->avail_gpa);
		snap_w_u64(w, q->used_gpa);
		snap_w_u16(w, q->last_avail);
		snap_w_u16(w, q->used_idx);
		snap_w_u16(w, q->signalled_used);
	}
	if (d->type == VIRTIO_ID_BLK) {
		snap_w_u64(w, d->u.blk.capacity);
		snap_w_u8(w, d->u.blk.read_only);
		snap_w_u8(w, d->u.blk.writeback);
		snap_w_bytes(w, d->u.blk.id, BLK_ID_BYTES);
		enc_buckets(w, &d->u.blk.rl);
	} else {
		snap_w_u8(w, d->u.net.has_mac);
		snap_w_bytes(w, d->u.net.mac, 6);
		snap_w_u32(w, d->u.net.offload);
		snap_w_u8(w, d->u.net.rx_watching);
		enc_buckets(w, &d->u.net.rx_rl);
		enc_buckets(w, &d->u.net.tx_rl);
	}
	snap_w_end(w);
}

/* Optional: a reader that does not know the section skips it. */
static void enc_vmgenid(struct snap_writer *w, const struct vmgenid *vg)
{
	if (!vg->present)
		return;
	snap_w_begin(w, SNAPSHOT_SEC_VMGENID | SNAP_OPTIONAL, 0);
	snap_w_u64(w, vg->gpa);
	snap_w_u32(w, vg->gsi);
	snap_w_end(w);
}

int snapshot_state_encode(const struct snapshot_state *st, uint8_t **out, size_t *len,
			  char *err, size_t errlen)
{
	struct snap_writer *w = malloc(sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "state file: out of memory");
		return -ENOMEM;
	}
	snap_w_init(w);
	enc_vm(w, st);
	enc_config(w, &st->cfg);
	for (unsigned i = 0; i < st->nvcpus && i < LAYOUT_MAX_VCPUS; i++)
		enc_vcpu(w, i, &st->vcpu[i]);
	enc_legacy(w, st);
	for (unsigned i = 0; i < st->ndev && i < LAYOUT_MAX_VIRTIO_DEVS; i++)
		enc_virtio(w, i, &st->dev[i]);
	enc_vmgenid(w, &st->vmgenid);
	int r = snap_w_finish(w, out, len);
	snap_w_free(w);
	free(w);
	if (r < 0)
		snprintf(err, errlen, "state file: %s", strerror(-r));
	return r;
}

/* ---- decoding ---- */

static void dec_bucket_config(struct snap_reader *r, const char *field,
			      struct ratelimit_bucket_config *b)
{
	b->set = snap_r_bool(r, field);
	b->size = snap_r_u64(r, field);
	b->one_time_burst = snap_r_u64(r, field);
	b->refill_time_ms = snap_r_u64(r, field);
}

static void dec_limiter(struct snap_reader *r, const char *field,
			struct ratelimit_config *rl)
{
	dec_bucket_config(r, field, &rl->bandwidth);
	dec_bucket_config(r, field, &rl->ops);
}

static void dec_bucket(struct snap_reader *r, const char *field, struct ratelimit_bucket_state *b)
{
	b->on = snap_r_bool(r, field);
	b->size = snap_r_u64(r, field);
	b->refill_ns = snap_r_u64(r, field);
	b->budget = (int64_t)snap_r_u64(r, field);
}

static void dec_buckets(struct snap_reader *r, const char *field, struct ratelimit_state *rl)
{
	dec_bucket(r, field, &rl->bw);
	dec_bucket(r, field, &rl->ops);
}

static void dec_vm(struct snap_reader *r, struct snapshot_state *st)
{
	st->mem_size = snap_r_u64(r, "mem_size");
	if (!r->bad && (st->mem_size < (1u << 20) || st->mem_size > (CONFIG_MAX_MEM_MIB << 20) ||
			(st->mem_size & 0xfff)))
		snap_r_fail(r, "mem_size", "%llu bytes: not 1 MiB .. 1 TiB in whole pages",
			    (unsigned long long)st->mem_size);
	st->nvcpus = snap_r_u32(r, "vcpu_count");
	if (!r->bad && (st->nvcpus < 1 || st->nvcpus > LAYOUT_MAX_VCPUS))
		snap_r_fail(r, "vcpu_count", "%u is outside 1..%u", st->nvcpus, LAYOUT_MAX_VCPUS);
	st->flags = snap_r_u32(r, "flags");
	if (!r->bad && (st->flags & ~(SNAPSHOT_VM_BOOT_TIMER | SNAPSHOT_VM_DIFF)))
		snap_r_fail(r, "flags", "unknown bits 0x%x", st->flags);
	st->vm.tsc_khz = snap_r_u32(r, "tsc_khz");
	st->vm.realtime_ns = snap_r_u64(r, "realtime_ns");
	snap_r_blob_exact(r, "clock", &st->vm.clock, sizeof(st->vm.clock));
	snap_r_blob_exact(r, "pit", &st->vm.pit, sizeof(st->vm.pit));
	static const char *const chips[3] = { "pic_master", "pic_slave", "ioapic" };
	for (unsigned i = 0; i < 3; i++) {
		snap_r_blob_exact(r, chips[i], &st->vm.chip[i], sizeof(st->vm.chip[i]));
		if (!r->bad && st->vm.chip[i].chip_id != i)
			snap_r_fail(r, chips[i], "chip id %u, expected %u", st->vm.chip[i].chip_id, i);
	}
}

/* A resource id (drive_id, iface_id) as the API accepts them. */
static void dec_id(struct snap_reader *r, const char *field, char *id, size_t cap)
{
	char why[128];
	snap_r_str(r, field, id, cap);
	if (!r->bad && config_id_check(CONFIG_ID_RESOURCE, id, why, sizeof(why)) < 0)
		snap_r_fail(r, field, "'%s': %s", id, why);
}

static void dec_drive(struct snap_reader *r, struct vm_config *c, unsigned i)
{
	struct config_drive *d = &c->drives[i];
	char f[48];
	d->fd = -1;
	snprintf(f, sizeof(f), "drives[%u].drive_id", i);
	dec_id(r, f, d->drive_id, sizeof(d->drive_id));
	snprintf(f, sizeof(f), "drives[%u].path_on_host", i);
	snap_r_str(r, f, d->path_on_host, sizeof(d->path_on_host));
	if (!r->bad && !d->path_on_host[0])
		snap_r_fail(r, f, "empty");
	d->is_root_device = snap_r_bool(r, "is_root_device");
	if (!r->bad && d->is_root_device && i != 0)
		snap_r_fail(r, "is_root_device", "drives[%u] is a root device, not the first drive", i);
	d->is_read_only = snap_r_bool(r, "is_read_only");
	snap_r_str(r, "partuuid", d->partuuid, sizeof(d->partuuid));
	d->cache_type = snap_r_bool(r, "cache_type") ? CONFIG_CACHE_WRITEBACK : CONFIG_CACHE_UNSAFE;
	d->io_engine = snap_r_bool(r, "io_engine") ? CONFIG_IO_ASYNC : CONFIG_IO_SYNC;
	dec_limiter(r, "rate_limiter", &d->rate_limiter);
	for (unsigned k = 0; k < i && !r->bad; k++)
		if (!strcmp(c->drives[k].drive_id, d->drive_id))
			snap_r_fail(r, "drive_id", "'%s' appears twice", d->drive_id);
}

static void dec_net(struct snap_reader *r, struct vm_config *c, unsigned i)
{
	struct config_net *n = &c->nets[i];
	char f[48];
	n->tap_fd = -1;
	snprintf(f, sizeof(f), "network-interfaces[%u].iface_id", i);
	dec_id(r, f, n->iface_id, sizeof(n->iface_id));
	snprintf(f, sizeof(f), "network-interfaces[%u].host_dev_name", i);
	snap_r_str(r, f, n->host_dev_name, sizeof(n->host_dev_name));
	if (!r->bad && !n->host_dev_name[0])
		snap_r_fail(r, f, "empty");
	n->has_guest_mac = snap_r_bool(r, "has_guest_mac");
	snap_r_bytes(r, "guest_mac", n->guest_mac, 6);
	n->mtu = snap_r_u32(r, "mtu");
	if (!r->bad && n->mtu && (n->mtu < 68 || n->mtu > 65535))
		snap_r_fail(r, "mtu", "%u is outside 68..65535", n->mtu);
	dec_limiter(r, "rx_rate_limiter", &n->rx_rate_limiter);
	dec_limiter(r, "tx_rate_limiter", &n->tx_rate_limiter);
	for (unsigned k = 0; k < i && !r->bad; k++)
		if (!strcmp(c->nets[k].iface_id, n->iface_id))
			snap_r_fail(r, "iface_id", "'%s' appears twice", n->iface_id);
}

static void dec_config(struct snap_reader *r, struct snapshot_state *st)
{
	struct vm_config *c = &st->cfg;
	char why[256];
	config_init(c);
	c->machine.vcpu_count = snap_r_u32(r, "vcpu_count");
	c->machine.mem_size_mib = snap_r_u64(r, "mem_size_mib");
	c->machine.smt = snap_r_bool(r, "smt");
	c->machine.track_dirty_pages = snap_r_bool(r, "track_dirty_pages");
	c->machine.huge_pages = snap_r_bool(r, "huge_pages") ? CONFIG_HUGE_2M : CONFIG_HUGE_NONE;
	uint8_t tpl = snap_r_u8(r, "cpu_template");
	if (!r->bad && tpl >= CONFIG_CPU_TEMPLATE_COUNT)
		snap_r_fail(r, "cpu_template", "%u is not a CPU template (0..%u)", tpl,
			    CONFIG_CPU_TEMPLATE_COUNT - 1);
	c->machine.cpu_template = r->bad ? CONFIG_CPU_TEMPLATE_NONE : (enum config_cpu_template)tpl;
	if (!r->bad && config_machine_validate(&c->machine, why, sizeof(why)) < 0)
		snap_r_fail(r, "machine", "%s", why);
	if (!r->bad && (c->machine.vcpu_count != st->nvcpus ||
			c->machine.mem_size_mib << 20 != st->mem_size))
		snap_r_fail(r, "machine", "%u vCPUs and %llu MiB, the VM section says %u and %llu "
			    "bytes", c->machine.vcpu_count,
			    (unsigned long long)c->machine.mem_size_mib, st->nvcpus,
			    (unsigned long long)st->mem_size);
	snap_r_str(r, "kernel_image_path", c->boot.kernel_path, sizeof(c->boot.kernel_path));
	snap_r_str(r, "initrd_path", c->boot.initrd_path, sizeof(c->boot.initrd_path));
	c->boot.boot_args_set = snap_r_bool(r, "boot_args_set");
	snap_r_str(r, "boot_args", c->boot.boot_args, sizeof(c->boot.boot_args));
	c->boot.set = !r->bad;
	c->ndrives = snap_r_count(r, "drive count", CONFIG_MAX_DRIVES);
	for (unsigned i = 0; i < c->ndrives && !r->bad; i++)
		dec_drive(r, c, i);
	c->nnets = snap_r_count(r, "network interface count", CONFIG_MAX_NETS);
	for (unsigned i = 0; i < c->nnets && !r->bad; i++)
		dec_net(r, c, i);
	if (!r->bad && c->ndrives + c->nnets > LAYOUT_MAX_VIRTIO_DEVS)
		snap_r_fail(r, "devices", "%u drives and %u interfaces: more than %u devices",
			    c->ndrives, c->nnets, LAYOUT_MAX_VIRTIO_DEVS);
	dec_bucket_config(r, "serial rate_limiter", &c->serial.rate_limiter);
	c->serial.set = !r->bad && c->serial.rate_limiter.set;
	if (r->bad) {
		c->ndrives = c->nnets = 0;
		c->boot.set = false;
	}
}

static void dec_vcpu(struct snap_reader *r, struct x86_vcpu_state *v)
{
	snap_r_blob_exact(r, "regs", &v->regs, sizeof(v->regs));
	snap_r_blob_exact(r, "sregs", &v->sregs, sizeof(v->sregs));
	snap_r_blob_exact(r, "fpu", &v->fpu, sizeof(v->fpu));
	uint32_t n;
	const uint8_t *x = snap_r_blob(r, "xsave", X86_STATE_MAX_XSAVE, &n);
	if (x && n && n < X86_STATE_XSAVE_MIN)
		snap_r_fail(r, "xsave", "%u bytes, less than the %u of an XSAVE area", n,
			    X86_STATE_XSAVE_MIN);
	if (x && n && !r->bad) {
		v->xsave = malloc(n);
		if (!v->xsave)
			snap_r_fail(r, "xsave", "out of memory");
		else
			memcpy(v->xsave, x, n);
		v->xsave_len = v->xsave ? n : 0;
	}
	snap_r_blob_exact(r, "xcrs", &v->xcrs, sizeof(v->xcrs));
	if (!r->bad && v->xcrs.nr_xcrs > KVM_MAX_XCRS)
		snap_r_fail(r, "xcrs", "%u registers, at most %u", v->xcrs.nr_xcrs, KVM_MAX_XCRS);
	snap_r_blob_exact(r, "lapic", &v->lapic, sizeof(v->lapic));
	snap_r_blob_exact(r, "mp_state", &v->mp, sizeof(v->mp));
	snap_r_blob_exact(r, "vcpu_events", &v->events, sizeof(v->events));
	snap_r_blob_exact(r, "debugregs", &v->dregs, sizeof(v->dregs));
	v->tsc_khz = snap_r_u32(r, "tsc_khz");
	v->nmsrs = snap_r_count(r, "msr count", X86_STATE_MAX_MSRS);
	if (!r->bad && v->nmsrs) {
		v->msrs = calloc(v->nmsrs, sizeof(*v->msrs));
		if (!v->msrs)
			snap_r_fail(r, "msrs", "out of memory");
	}
	for (uint32_t i = 0; i < v->nmsrs && !r->bad; i++) {
		v->msrs[i].index = snap_r_u32(r, "msr index");
		v->msrs[i].data = snap_r_u64(r, "msr value");
	}
	v->ncpuid = snap_r_count(r, "cpuid count", X86_STATE_MAX_CPUID);
	if (!r->bad && v->ncpuid == 0)
		snap_r_fail(r, "cpuid count", "no CPUID entries");
	if (!r->bad) {
		v->cpuid = calloc(v->ncpuid, sizeof(*v->cpuid));
		if (!v->cpuid)
			snap_r_fail(r, "cpuid", "out of memory");
	}
	for (uint32_t i = 0; i < v->ncpuid && !r->bad; i++) {
		struct kvm_cpuid_entry2 *e = &v->cpuid[i];
		e->function = snap_r_u32(r, "cpuid function");
		e->index = snap_r_u32(r, "cpuid index");
		e->flags = snap_r_u32(r, "cpuid flags");
		e->eax = snap_r_u32(r, "cpuid eax");
		e->ebx = snap_r_u32(r, "cpuid ebx");
		e->ecx = snap_r_u32(r, "cpuid ecx");
		e->edx = snap_r_u32(r, "cpuid edx");
	}
	if (r->bad)
		x86_vcpu_state_free(v);
}

static void dec_legacy(struct snap_reader *r, struct snap_reader *k, struct snapshot_state *st)
{
	struct serial_state *s = &st->serial;
	uint8_t regs[11];
	snap_r_bytes(r, "registers", regs, sizeof(regs));
	s->ier = regs[0];
	s->lcr = regs[1];
	s->mcr = regs[2];
	s->lsr_extra = regs[3];
	s->msr = regs[4];
	s->scr = regs[5];
	s->dll = regs[6];
	s->dlm = regs[7];
	s->fcr = regs[8];
	if (!r->bad && (regs[9] > 1 || regs[10] > 1))
		snap_r_fail(r, "registers", "interrupt flags %u, %u are not booleans", regs[9],
			    regs[10]);
	s->thr_irq_pending = regs[9];
	s->irq_level = regs[10];
	uint32_t n;
	const uint8_t *p = snap_r_blob(r, "receive buffer", SERIAL_RX_BUF, &n);
	if (p) {
		memcpy(s->rx, p, n);
		s->rx_len = n;
	}
	dec_bucket(r, "output rate limiter", &s->out_limit);

	struct i8042_state *i = &st->i8042;
	uint8_t kregs[6];
	snap_r_bytes(k, "registers", kregs, sizeof(kregs));
	i->status = kregs[0];
	i->ctr = kregs[1];
	i->outp = kregs[2];
	i->cmd = kregs[3];
	i->kbd_arg_of = kregs[4];
	i->kbd_last = kregs[5];
	p = snap_r_blob(k, "output buffer", I8042_BUF, &n);
	if (p) {
		memcpy(i->buf, p, n);
		i->len = n;
	}
}

/* The device at index i must be the configured one: drives (root first)
 * then interfaces, as devices_create() places them. */
static void dec_virtio_kind(struct snap_reader *r, const struct vm_config *c, unsigned i,
			    struct devices_state *d)
{
	d->type = snap_r_u32(r, "device type");
	dec_id(r, "id", d->id, sizeof(d->id));
	bool blk = i < c->ndrives;
	const char *want = blk ? c->drives[i].drive_id : c->nets[i - c->ndrives].iface_id;
	if (!r->bad && (d->type != (blk ? VIRTIO_ID_BLK : VIRTIO_ID_NET) || strcmp(d->id, want)))
		snap_r_fail(r, "device type", "type %u '%s', the configuration has %s '%s' here",
			    d->type, d->id, blk ? "drive" : "network interface", want);
}

static void dec_queue(struct snap_reader *r, struct virtq_state *q)
{
	q->num_max = snap_r_u16(r, "queue num_max");
	q->num = snap_r_u16(r, "queue num");
	if (!r->bad && q->num_max != VIRTQ_MAX_SIZE)
		snap_r_fail(r, "queue num_max", "%u (ember's queues have %u entries)", q->num_max,
			    VIRTQ_MAX_SIZE);
	q->ready = snap_r_bool(r, "queue ready");
	q->active = snap_r_bool(r, "queue active");
	q->broken = snap_r_bool(r, "queue broken");
	q->event_idx = snap_r_bool(r, "queue event_idx");
	q->indirect = snap_r_bool(r, "queue indirect");
	q->desc_gpa = snap_r_u64(r, "queue desc");
	q->avail_gpa = snap_r_u64(r, "queue avail");
	q->used_gpa = snap_r_u64(r, "queue used");
	q->last_avail = snap_r_u16(r, "queue last_avail");
	q->used_idx = snap_r_u16(r, "queue used_idx");
	q->signalled_used = snap_r_u16(r, "queue signalled_used");
	if (!r->bad && q->active && (q->num == 0 || q->num > q->num_max || (q->num & (q->num - 1))))
		snap_r_fail(r, "queue num", "%u: an active queue's size is a power of two up to %u",
			    q->num, q->num_max);
}

static void dec_virtio(struct snap_reader *r, const struct vm_config *c, unsigned i,
		       struct devices_state *d)
{
	dec_virtio_kind(r, c, i, d);
	struct virtio_mmio_state *m = &d->mmio;
	m->status = snap_r_u32(r, "status");
	m->driver_features = snap_r_u64(r, "driver_features");
	m->config_generation = snap_r_u32(r, "config_generation");
	m->isr = snap_r_u32(r, "interrupt status");
	if (!r->bad && m->isr & ~(VIRTIO_ISR_VRING | VIRTIO_ISR_CONFIG))
		snap_r_fail(r, "interrupt status", "unknown bits 0x%x", m->isr);
	m->device_features_sel = snap_r_u32(r, "device_features_sel");
	m->driver_features_sel = snap_r_u32(r, "driver_features_sel");
	m->queue_sel = snap_r_u32(r, "queue_sel");
	m->nqueues = snap_r_u32(r, "queue count");
	unsigned want = d->type == VIRTIO_ID_BLK ? 1 : 2;
	if (!r->bad && m->nqueues != want)
		snap_r_fail(r, "queue count", "%u, the device has %u", m->nqueues, want);
	for (unsigned q = 0; q < m->nqueues && !r->bad; q++)
		dec_queue(r, &m->q[q]);
	if (d->type == VIRTIO_ID_BLK) {
		struct blk_state *b = &d->u.blk;
		b->capacity = snap_r_u64(r, "capacity");
		b->read_only = snap_r_bool(r, "read_only");
		b->writeback = snap_r_bool(r, "writeback");
		snap_r_bytes(r, "disk id", b->id, BLK_ID_BYTES);
		dec_buckets(r, "rate limiter", &b->rl);
		if (!r->bad && (b->read_only != c->drives[i].is_read_only ||
				b->writeback != (c->drives[i].cache_type == CONFIG_CACHE_WRITEBACK)))
			snap_r_fail(r, "read_only", "read-only or cache type differ from the "
				    "configuration's");
	} else {
		struct net_state *n = &d->u.net;
		n->has_mac = snap_r_bool(r, "has_mac");
		snap_r_bytes(r, "mac", n->mac, 6);
		n->offload = snap_r_u32(r, "offload");
		n->rx_watching = snap_r_bool(r, "rx_watching");
		dec_buckets(r, "rx rate limiter", &n->rx_rl);
		dec_buckets(r, "tx rate limiter", &n->tx_rl);
		const struct config_net *cn = &c->nets[i - c->ndrives];
		if (!r->bad && (n->has_mac != cn->has_guest_mac ||
				(n->has_mac && memcmp(n->mac, cn->guest_mac, 6))))
			snap_r_fail(r, "mac", "differs from the configuration's guest_mac");
	}
}

/* The generation id lies in low RAM, 8-byte aligned; its GSI is an IOAPIC
 * pin no other device of this VM uses. */
static void dec_vmgenid(struct snap_reader *r, const struct snapshot_state *st,
			struct vmgenid *vg)
{
	uint64_t low_end = st->mem_size < LAYOUT_MMIO_GAP_START ? st->mem_size :
								  LAYOUT_MMIO_GAP_START;
	vg->gpa = snap_r_u64(r, "address");
	vg->gsi = snap_r_u32(r, "gsi");
	if (!r->bad && (vg->gpa % 8 || vg->gpa >= low_end || low_end - vg->gpa < VMGENID_LEN))
		snap_r_fail(r, "address", "0x%llx: not an 8-byte aligned address of low RAM",
			    (unsigned long long)vg->gpa);
	bool taken = vg->gsi == LAYOUT_SERIAL_IRQ || vg->gsi == LAYOUT_I8042_IRQ ||
		     (vg->gsi >= LAYOUT_VIRTIO_IRQ_BASE &&
		      vg->gsi < LAYOUT_VIRTIO_IRQ_BASE + st->ndev);
	if (!r->bad && (vg->gsi >= 24 || taken))
		snap_r_fail(r, "gsi", "%u: not a free pin of the IOAPIC (0..23)", vg->gsi);
	vg->present = !r->bad;
}

int snapshot_state_decode(const uint8_t *buf, size_t len, struct snapshot_state *st,
			  char *err, size_t errlen)
{
	struct snap_file *f = malloc(sizeof(*f));
	struct snap_reader *r = malloc(sizeof(*r)), *k = malloc(sizeof(*k));
	char what[48];
	int ret = -ENOMEM;
	memset(st, 0, sizeof(*st));
	if (!f || !r || !k) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = snap_parse(buf, len, f, err, errlen);
	if (ret < 0)
		goto out;
	/* A required section of a type this ember does not know. */
	for (unsigned i = 0; i < f->nsec; i++) {
		uint32_t t = f->sec[i].type;
		if (!(t & SNAP_OPTIONAL) &&
		    (t < SNAPSHOT_SEC_VM || t > SNAPSHOT_SEC_VIRTIO)) {
			snprintf(err, errlen, "section type %u is required and unknown to this ember "
				 "(format %u.%u, written by ember %s)", t, f->major, f->minor,
				 f->writer);
			ret = -EINVAL;
			goto out;
		}
	}
	snap_r_init(r, f, snap_find(f, SNAPSHOT_SEC_VM, 0), "VM section");
	dec_vm(r, st);
	if ((ret = snap_r_done(r, err, errlen)) < 0)
		goto out;
	snap_r_init(r, f, snap_find(f, SNAPSHOT_SEC_CONFIG, 0), "CONFIG section");
	dec_config(r, st);
	if ((ret = snap_r_done(r, err, errlen)) < 0)
		goto out;
	for (unsigned i = 0; i < st->nvcpus; i++) {
		snprintf(what, sizeof(what), "VCPU %u section", i);
		snap_r_init(r, f, snap_find(f, SNAPSHOT_SEC_VCPU, i), what);
		dec_vcpu(r, &st->vcpu[i]);
		if ((ret = snap_r_done(r, err, errlen)) < 0)
			goto out;
	}
	snap_r_init(r, f, snap_find(f, SNAPSHOT_SEC_SERIAL, 0), "SERIAL section");
	snap_r_init(k, f, snap_find(f, SNAPSHOT_SEC_I8042, 0), "I8042 section");
	dec_legacy(r, k, st);
	if ((ret = snap_r_done(r, err, errlen)) < 0 || (ret = snap_r_done(k, err, errlen)) < 0)
		goto out;
	st->ndev = st->cfg.ndrives + st->cfg.nnets;
	for (unsigned i = 0; i < st->ndev; i++) {
		snprintf(what, sizeof(what), "VIRTIO %u section", i);
		snap_r_init(r, f, snap_find(f, SNAPSHOT_SEC_VIRTIO, i), what);
		dec_virtio(r, &st->cfg, i, &st->dev[i]);
		if ((ret = snap_r_done(r, err, errlen)) < 0)
			goto out;
	}
	const struct snap_section *vgs = snap_find(f, SNAPSHOT_SEC_VMGENID, 0);
	if (vgs) {
		snap_r_init(r, f, vgs, "VMGENID section");
		dec_vmgenid(r, st, &st->vmgenid);
		if ((ret = snap_r_done(r, err, errlen)) < 0)
			goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		snapshot_state_free(st);
	free(f);
	free(r);
	free(k);
	return ret;
}
