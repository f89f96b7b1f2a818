// SPDX-License-Identifier: GPL-2.0
/*
 * Trace events on user-space probe points.
 *
 * Each event names a file and an offset in it.  While the event is enabled
 * (for ftrace, for perf, or as a perf "uprobe" PMU event), every probe of
 * the event holds a consumer registered with the uprobes core; a hit fetches
 * the event's arguments from the probed task and writes one record to the
 * ring buffers of the tracefs instances that enabled it, or hands it to perf
 * and to the BPF programs attached to the event.
 *
 * Events are created and removed through tracefs (uprobe_events and
 * dynamic_events, both parsed by trace_uprobe_parse()) and by the perf
 * uprobe PMU (create_local_trace_uprobe()).  Argument parsing, printing and
 * the event registration itself are shared with kprobe events in
 * trace_probe.c; what is ours is the probe location, the fetching of values
 * from user memory and the glue to the uprobes core.
 */
#define pr_fmt(fmt)	"trace_uprobe: " fmt

#include <linux/bpf.h>
#include <linux/cleanup.h>
#include <linux/ctype.h>
#include <linux/filter.h>
#include <linux/hashtable.h>
#include <linux/jhash.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/security.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uprobes.h>

#include "trace_dynevent.h"
#include "trace_probe.h"
#include "trace_probe_tmpl.h"

#define UPROBE_EVENT_SYSTEM	"uprobes"
/* The perf PMU's events are never listed, so they can all share one name. */
#define UPROBE_LOCAL_EVENT	"DUMMY_EVENT"

/*
 * One probe point.  Several trace_uprobes may share one event (same group and
 * name, same argument types): they are then linked on tp.event->probes and
 * the first one is the event's "primary".  Lifetime: created by the parser
 * or the perf PMU, freed by unregister_trace_uprobe() or
 * destroy_local_trace_uprobe(), never while @consumer may still be called.
 */
struct trace_uprobe {
	struct dyn_event		devent;	/* on dyn_event_list, under event_mutex */
	/* In trace_uprobes_by_name and _by_offset while on dyn_event_list. */
	struct hlist_node		name_node;
	struct hlist_node		offset_node;
	struct uprobe_consumer		consumer;
	/* The registered uprobe while the event is enabled, else NULL. */
	struct uprobe			*uprobe;
	unsigned long __percpu		*nhits;	/* hits, for uprobe_profile */
	char				*filename;	/* the path as the user gave it */
	struct path			path;	/* pins the probed file */
	unsigned long			offset;	/* of the probe in the file */
	unsigned long			ref_ctr_offset;	/* of the USDT semaphore, or 0 */
	struct trace_probe		tp;	/* last: ends in a flexible array */
};

/*
 * A record starts with the probed address; a return probe's records carry
 * the function's entry address and the address it returned to, in that order.
 * The fetched arguments follow.
 */
struct uprobe_record {
	struct trace_entry	ent;
	unsigned long		addr[];
};

static int trace_uprobe_create(const char *raw_command);
static int trace_uprobe_show(struct seq_file *m, struct dyn_event *ev);
static bool trace_uprobe_is_busy(struct dyn_event *ev);
static int trace_uprobe_free(struct dyn_event *ev);
static bool trace_uprobe_match(const char *system, const char *event,
			       int argc, const char **argv, struct dyn_event *ev);

static struct dyn_event_operations trace_uprobe_ops = {
	.create		= trace_uprobe_create,
	.show		= trace_uprobe_show,
	.is_busy	= trace_uprobe_is_busy,
	.free		= trace_uprobe_free,
	.match		= trace_uprobe_match,
};

static bool is_trace_uprobe(struct dyn_event *ev)
{
	return ev->ops == &trace_uprobe_ops;
}

static struct trace_uprobe *to_trace_uprobe(struct dyn_event *ev)
{
	return container_of(ev, struct trace_uprobe, devent);
}

static bool is_ret_probe(struct trace_uprobe *tu)
{
	return tu->consumer.ret_handler;
}

/* Size of a record's header: the trace entry and one or two addresses. */
static __always_inline int uprobe_record_head(struct trace_uprobe *tu)
{
	return struct_size_t(struct uprobe_record, addr, is_ret_probe(tu) ? 2 : 1);
}

static struct trace_uprobe *trace_uprobe_primary(struct trace_event_call *call)
{
	struct trace_probe *tp = trace_probe_primary_from_call(call);

	if (WARN_ON_ONCE(!tp))
		return NULL;
	return container_of(tp, struct trace_uprobe, tp);
}

/* ---------------------------------------------------------------------
 * Fetching argument values in the probed task.
 *
 * trace_probe_tmpl.h runs the fetch programs that traceprobe_parse_probe_arg()
 * compiled and calls back here for everything that touches memory.  Every
 * address an uprobe event reads is a user address of current; a fault leaves
 * the value unset (or the string empty) rather than failing the record.
 */

static nokprobe_inline int probe_mem_read(void *dest, void *src, size_t size)
{
	if (copy_from_user(dest, (void __user __force *)src, size))
		return -EFAULT;
	return 0;
}

static nokprobe_inline int probe_mem_read_user(void *dest, void *src, size_t size)
{
	return probe_mem_read(dest, src, size);
}

/* Bytes fetch_store_string() will want for @addr, its NUL included; 0 if none. */
static nokprobe_inline int fetch_store_strlen(unsigned long addr)
{
	long len;

	if (addr == FETCH_TOKEN_COMM)
		return strlen(current->comm) + 1;

	len = strnlen_user((const char __user __force *)addr, MAX_STRING_SIZE);
	return len <= MAX_STRING_SIZE ? len : 0;
}

static nokprobe_inline int fetch_store_strlen_user(unsigned long addr)
{
	return fetch_store_strlen(addr);
}

/*
 * Copy the string at @addr (or current's comm for FETCH_TOKEN_COMM) into the
 * dynamic area that the data_loc at @dest points to, within the room that
 * data_loc allows, and set the data_loc's length to what was stored.  A string
 * longer than the room is cut and still NUL-terminated.
 */
static nokprobe_inline int
fetch_store_string(unsigned long addr, void *dest, void *base)
{
	int room = get_loc_len(*(u32 *)dest);
	char *dst = get_loc_data(dest, base);
	long len;

	if (unlikely(!room))
		return -ENOMEM;

	if (addr == FETCH_TOKEN_COMM) {
		len = min_t(long, strlen(current->comm), room - 1);
		memcpy(dst, current->comm, len);
	} else {
		len = strncpy_from_user(dst, (const char __user __force *)addr, room);
		if (len < 0) {
			*(u32 *)dest = make_data_loc(0, dst - (char *)base);
			return len;
		}
		/* strncpy_from_user() returns @room when it found no NUL. */
		if (len == room)
			len--;
	}
	dst[len++] = '\0';
	*(u32 *)dest = make_data_loc(len, dst - (char *)base);
	return len;
}

static nokprobe_inline int
fetch_store_string_user(unsigned long addr, void *dest, void *base)
{
	return fetch_store_string(addr, dest, base);
}

/* The @n-th word on the user stack of the probed task, or 0 if unreadable. */
static unsigned long user_stack_word(struct pt_regs *regs, unsigned int n)
{
	unsigned long sp = user_stack_pointer(regs);
	unsigned long word;

	if (IS_ENABLED(CONFIG_STACK_GROWSUP))
		sp -= n * sizeof(long);
	else
		sp += n * sizeof(long);

	if (copy_from_user(&word, (void __user *)sp, sizeof(word)))
		return 0;
	return word;
}

/*
 * @+OFFSET names a file offset of the probed file: turn it into an address
 * of the mapping that hit, found from the address of the hit itself.
 */
static unsigned long file_offset_to_vaddr(unsigned long file_offset)
{
	struct uprobe_dispatch_data *udd = (void *)current->utask->vaddr;

	return udd->bp_addr - udd->tu->offset + file_offset;
}

/*
 * The first step of a fetch program: the value, taken from the probed task,
 * that the rest of the program dereferences and stores.  False if the step is
 * not one of the task-specific ones.
 */
static bool fetch_from_task(struct fetch_insn *code, struct pt_regs *regs,
			    unsigned long *val)
{
	switch (code->op) {
	case FETCH_OP_REG:
		*val = regs_get_register(regs, code->param);
		return true;
	case FETCH_OP_STACK:
		*val = user_stack_word(regs, code->param);
		return true;
	case FETCH_OP_STACKP:
		*val = user_stack_pointer(regs);
		return true;
	case FETCH_OP_RETVAL:
		*val = regs_return_value(regs);
		return true;
	case FETCH_OP_FOFFS:
		*val = file_offset_to_vaddr(code->immediate);
		return true;
	case FETCH_OP_COMM:
		/* Only strings take $comm; fetch_store_string() knows the token. */
		*val = FETCH_TOKEN_COMM;
		return true;
	default:
		return false;
	}
}

/* Run one fetch program: the first step is ours, the rest is common. */
static int process_fetch_insn(struct fetch_insn *code, void *rec, void *edata,
			      void *dest, void *base)
{
	unsigned long val;
	int ret;

	if (!fetch_from_task(code, rec, &val)) {
		ret = process_common_fetch_insn(code, &val);
		if (ret < 0)
			return ret;
	}
	return process_fetch_insn_bottom(code + 1, val, dest, base);
}
NOKPROBE_SYMBOL(process_fetch_insn)

/* ---------------------------------------------------------------------
 * Scratch space for fetched arguments.
 *
 * Fetching may fault in user pages and sleep, so the values cannot be written
 * straight into a ring buffer slot, which is reserved with preemption off.
 * They are gathered first in a page of the current CPU; the page's mutex keeps
 * it ours if the task migrates while it sleeps.  The pages exist while at
 * least one event is enabled.
 */

#define UPROBE_SCRATCH_SIZE	PAGE_SIZE

struct uprobe_scratch {
	struct mutex	lock;	/* held from fetching to copying out */
	int		len;	/* bytes of argument data in @buf */
	void		*buf;
};

static struct uprobe_scratch __percpu *uprobe_scratch;
static int uprobe_scratch_users;	/* enabled events; under event_mutex */

static void uprobe_scratch_free(struct uprobe_scratch __percpu *scratch)
{
	int cpu;

	for_each_possible_cpu(cpu)
		free_page((unsigned long)per_cpu_ptr(scratch, cpu)->buf);
	free_percpu(scratch);
}

static int uprobe_scratch_get(void)
{
	struct uprobe_scratch __percpu *scratch;
	int cpu;

	lockdep_assert_held(&event_mutex);

	if (uprobe_scratch_users) {
		uprobe_scratch_users++;
		return 0;
	}

	scratch = alloc_percpu(struct uprobe_scratch);
	if (!scratch)
		return -ENOMEM;

	for_each_possible_cpu(cpu) {
		struct uprobe_scratch *s = per_cpu_ptr(scratch, cpu);
		struct page *page;

		page = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL, 0);
		if (!page) {
			uprobe_scratch_free(scratch);
			return -ENOMEM;
		}
		s->buf = page_address(page);
		mutex_init(&s->lock);
	}

	uprobe_scratch = scratch;
	uprobe_scratch_users = 1;
	return 0;
}

static void uprobe_settle(void);

static void uprobe_scratch_put(void)
{
	lockdep_assert_held(&event_mutex);

	if (--uprobe_scratch_users)
		return;

	/* A handler of a just-disabled event may still be filling a page. */
	uprobe_settle();
	uprobe_scratch_free(uprobe_scratch);
	uprobe_scratch = NULL;
}

/*
 * Fetch the arguments of @tu into this CPU's scratch page and return it
 * locked; release it with uprobe_scratch_release().  Strings that would
 * overflow the page are cut.
 */
static struct uprobe_scratch *uprobe_fetch_args(struct trace_uprobe *tu,
						struct pt_regs *regs)
{
	int room = UPROBE_SCRATCH_SIZE - tu->tp.size;
	struct uprobe_scratch *s;
	int dynamic;

	dynamic = min(__get_data_size(&tu->tp, regs, NULL), room);

	s = raw_cpu_ptr(uprobe_scratch);
	mutex_lock(&s->lock);
	store_trace_args(s->buf, &tu->tp, regs, NULL, uprobe_record_head(tu), dynamic);
	s->len = tu->tp.size + dynamic;
	return s;
}

static void uprobe_scratch_release(struct uprobe_scratch *s)
{
	if (s)
		mutex_unlock(&s->lock);
}

/* ---------------------------------------------------------------------
 * Deferred grace periods.
 *
 * After uprobe_unregister_nosync() a handler may still be running on the
 * consumer until uprobe_unregister_sync() returns, and that wait is a full
 * RCU Tasks Trace grace period.  Paying it once per disabled event makes
 * disabling and removing many events slow, so disabling an event for ftrace
 * only records that a wait is owed.  The wait is paid once, by the first of
 * the operations that need it: freeing a trace_uprobe, freeing the scratch
 * pages, or registering a consumer again (its list node must be out of every
 * reader's hands before it is relinked).  Perf pays at once: the perf core
 * frees its per-CPU buffers right after TRACE_REG_PERF_UNREGISTER.
 *
 * Nothing else a late handler touches goes away without a grace period of
 * its own: it reads event file links under rcu_read_lock(), and those are
 * freed after an RCU grace period.
 */
static bool uprobe_sync_owed;	/* consumers detached, not waited for; under event_mutex */

static void uprobe_settle(void)
{
	lockdep_assert_held(&event_mutex);

	if (!uprobe_sync_owed)
		return;
	uprobe_unregister_sync();
	uprobe_sync_owed = false;
}

/* ---------------------------------------------------------------------
 * Hits.
 */

/* Write one record to the ring buffer of @file. */
static void uprobe_trace_write(struct trace_uprobe *tu, struct trace_event_file *file,
			       const unsigned long *addr, struct uprobe_scratch *s)
{
	int head = uprobe_record_head(tu), len = s ? s->len : 0;
	/* Every field is set by trace_event_buffer_reserve(): no zeroing per hit. */
	struct trace_event_buffer fbuffer __uninitialized;
	struct uprobe_record *rec;

	if (trace_trigger_soft_disabled(file))
		return;

	rec = trace_event_buffer_reserve(&fbuffer, file, head + len);
	if (!rec)
		return;

	/* One or two addresses: stores, not a byte copy. */
	rec->addr[0] = addr[0];
	if (is_ret_probe(tu))
		rec->addr[1] = addr[1];
	if (len)
		memcpy((void *)rec + head, s->buf, len);
	trace_event_buffer_commit(&fbuffer);
}

/*
 * Run the event's BPF programs, then write the record to perf unless a
 * program said to drop it.  @s is the caller's scratch page, filled here on
 * first use.
 */
static void uprobe_perf_write(struct trace_uprobe *tu, struct pt_regs *regs,
			      const unsigned long *addr, struct uprobe_scratch **s)
{
	struct trace_event_call *call = trace_probe_event_call(&tu->tp);
	int head = uprobe_record_head(tu), len = 0, size, rctx;
	struct uprobe_record *rec;
	struct hlist_head *events;

	if (IS_ENABLED(CONFIG_BPF_EVENTS) && bpf_prog_array_valid(call)) {
		const struct bpf_prog_array *progs;
		u32 keep;

		rcu_read_lock_trace();
		progs = rcu_dereference_check(call->prog_array, rcu_read_lock_trace_held());
		keep = bpf_prog_run_array_uprobe(progs, regs, bpf_prog_run);
		rcu_read_unlock_trace();
		if (!keep)
			return;
	}

	if (tu->tp.nr_args) {
		if (!*s)
			*s = uprobe_fetch_args(tu, regs);
		len = (*s)->len;
	}

	/* perf prepends a u32 size and wants the whole to be u64-aligned. */
	size = ALIGN(head + len + sizeof(u32), sizeof(u64)) - sizeof(u32);
	if (size > PERF_MAX_TRACE_SIZE)
		return;

	guard(preempt)();
	events = this_cpu_ptr(call->perf_events);
	if (hlist_empty(events))
		return;

	rec = perf_trace_buf_alloc(size, NULL, &rctx);
	if (!rec)
		return;

	memcpy(rec->addr, addr, head - sizeof(*rec));
	if (len)
		memcpy((void *)rec + head, (*s)->buf, len);
	memset((void *)rec + head + len, 0, size - head - len);
	perf_trace_buf_submit(rec, size, rctx, call->event.type, 1, regs, events, NULL);
}

/*
 * Record one hit of @tu for every user of its event.  @addr holds the record's
 * addresses; @bp_addr is where the probe is (the function's entry for a return
 * probe), which @+OFFSET arguments and bpf_get_func_ip() are relative to.
 *
 * Inline in both handlers: as a call of its own, its frame cost a tracefs hit
 * about a tenth of what the front end spends (an instruction trace of one hit).
 */
static __always_inline void trace_uprobe_record(struct trace_uprobe *tu, struct pt_regs *regs,
						const unsigned long *addr, unsigned long bp_addr,
						unsigned int flags)
{
	struct uprobe_dispatch_data udd __uninitialized;	/* set below where it is read */
	struct uprobe_scratch *s = NULL;

	if (WARN_ON_ONCE(!uprobe_scratch))
		return;

	/*
	 * Only the fetch of arguments (@+OFFSET) and BPF's bpf_get_func_ip() read
	 * this, back as a struct uprobe_dispatch_data; a plain tracefs hit skips it.
	 */
	if (tu->tp.nr_args || (flags & TP_FLAG_PROFILE)) {
		udd.tu = tu;
		udd.bp_addr = bp_addr;
		current->utask->vaddr = (unsigned long)&udd;
	}

	if (flags & TP_FLAG_TRACE) {
		struct event_file_link *link;

		if (tu->tp.nr_args)
			s = uprobe_fetch_args(tu, regs);
		rcu_read_lock();
		trace_probe_for_each_link_rcu(link, &tu->tp)
			uprobe_trace_write(tu, link->file, addr, s);
		rcu_read_unlock();
	}
	if (flags & TP_FLAG_PROFILE)
		uprobe_perf_write(tu, regs, addr, &s);

	uprobe_scratch_release(s);
}

static bool uprobe_perf_wants(struct trace_uprobe *tu, struct mm_struct *mm);

/* The consumer's entry handler; a return probe's event records on return. */
static int uprobe_hit(struct uprobe_consumer *uc, struct pt_regs *regs)
{
	struct trace_uprobe *tu = container_of(uc, struct trace_uprobe, consumer);
	unsigned long ip = instruction_pointer(regs);
	unsigned int flags;
	int ret = 0;

	this_cpu_inc(*tu->nhits);

	flags = trace_probe_load_flag(&tu->tp);
	/* Perf wants only the tasks it traces: take the breakpoint out of others. */
	if ((flags & TP_FLAG_PROFILE) && !uprobe_perf_wants(tu, current->mm)) {
		flags &= ~TP_FLAG_PROFILE;
		ret = UPROBE_HANDLER_REMOVE;
	}

	if (!is_ret_probe(tu) && flags)
		trace_uprobe_record(tu, regs, &ip, ip, flags);
	return ret;
}

static int uretprobe_hit(struct uprobe_consumer *uc, unsigned long func,
			 struct pt_regs *regs)
{
	struct trace_uprobe *tu = container_of(uc, struct trace_uprobe, consumer);
	unsigned long addr[2] = { func, instruction_pointer(regs) };
	unsigned int flags = trace_probe_load_flag(&tu->tp);

	if (flags)
		trace_uprobe_record(tu, regs, addr, func, flags);
	return 0;
}

/* ---------------------------------------------------------------------
 * Which tasks perf traces.
 *
 * The event's trace_uprobe_filter counts perf events that trace every task
 * and lists those bound to one task.  The consumer's filter asks it whether
 * an mm should carry the breakpoint; opening and closing a perf event adds or
 * removes the breakpoints through uprobe_apply() only when the answer changes
 * for some mm.
 */

static void uprobe_filter_init(struct trace_uprobe_filter *filter)
{
	rwlock_init(&filter->rwlock);
	filter->nr_systemwide = 0;
	INIT_LIST_HEAD(&filter->perf_events);
}

/* Whether one of the listed per-task events traces @mm; filter->rwlock held. */
static bool uprobe_filter_has_mm(struct trace_uprobe_filter *filter,
				 struct mm_struct *mm)
{
	struct perf_event *event;

	list_for_each_entry(event, &filter->perf_events, hw.tp_list)
		if (event->hw.target->mm == mm)
			return true;
	return false;
}

static bool uprobe_perf_wants(struct trace_uprobe *tu, struct mm_struct *mm)
{
	struct trace_uprobe_filter *filter = tu->tp.event->filter;

	/* Unlocked peek: a system-wide event wants every mm. */
	if (READ_ONCE(filter->nr_systemwide))
		return true;

	guard(read_lock)(&filter->rwlock);
	return uprobe_filter_has_mm(filter, mm);
}

static bool uprobe_perf_filter(struct uprobe_consumer *uc, struct mm_struct *mm)
{
	return uprobe_perf_wants(container_of(uc, struct trace_uprobe, consumer), mm);
}

/*
 * Account @event in @filter.  Returns true if the breakpoints already cover
 * what it traces: some other event wants every mm or its mm, or its task is
 * a child created by fork (which inherits the parent's breakpoints), or it is
 * enabled on exec (the new mappings get the breakpoints when they appear).
 */
static bool uprobe_filter_add(struct trace_uprobe_filter *filter,
			      struct perf_event *event)
{
	bool covered;

	guard(write_lock)(&filter->rwlock);
	if (!event->hw.target) {
		covered = filter->nr_systemwide++;
		return covered;
	}
	covered = filter->nr_systemwide || event->parent || event->attr.enable_on_exec ||
		  uprobe_filter_has_mm(filter, event->hw.target->mm);
	list_add(&event->hw.tp_list, &filter->perf_events);
	return covered;
}

/*
 * Forget @event.  Returns true if the breakpoints should stay as they are:
 * some other event still wants what it traced, or its task is exiting.
 */
static bool uprobe_filter_remove(struct trace_uprobe_filter *filter,
				 struct perf_event *event)
{
	guard(write_lock)(&filter->rwlock);
	if (!event->hw.target)
		return --filter->nr_systemwide;

	list_del(&event->hw.tp_list);
	return filter->nr_systemwide || (event->hw.target->flags & PF_EXITING) ||
	       uprobe_filter_has_mm(filter, event->hw.target->mm);
}

/* Add or remove the breakpoints of every probe of @tp in the filtered mms. */
static int uprobe_perf_apply(struct trace_probe *tp, bool add)
{
	struct trace_uprobe *tu;
	int ret;

	list_for_each_entry(tu, trace_probe_probe_list(tp), tp.list) {
		ret = uprobe_apply(tu->uprobe, &tu->consumer, add);
		if (ret)
			return ret;
	}
	return 0;
}

static int uprobe_perf_close(struct trace_event_call *call, struct perf_event *event)
{
	struct trace_probe *tp = trace_probe_primary_from_call(call);

	if (WARN_ON_ONCE(!tp))
		return -ENODEV;
	if (uprobe_filter_remove(tp->event->filter, event))
		return 0;
	return uprobe_perf_apply(tp, false);
}

static int uprobe_perf_open(struct trace_event_call *call, struct perf_event *event)
{
	struct trace_probe *tp = trace_probe_primary_from_call(call);
	int ret;

	if (WARN_ON_ONCE(!tp))
		return -ENODEV;
	if (uprobe_filter_add(tp->event->filter, event))
		return 0;

	ret = uprobe_perf_apply(tp, true);
	if (ret)
		uprobe_perf_close(call, event);
	return ret;
}

/* ---------------------------------------------------------------------
 * Enabling and disabling.
 */

/* Register @tu's consumer with the uprobes core; event_mutex held. */
static int trace_uprobe_arm(struct trace_uprobe *tu)
{
	struct uprobe *uprobe;

	uprobe_settle();
	uprobe = uprobe_register(d_real_inode(tu->path.dentry), tu->offset,
				 tu->ref_ctr_offset, &tu->consumer);
	if (IS_ERR(uprobe))
		return PTR_ERR(uprobe);
	tu->uprobe = uprobe;
	return 0;
}

/*
 * Unregister every armed probe of @tp.  Unless @wait, the grace period is
 * left owed (see uprobe_settle()).
 */
static void trace_uprobe_disarm_all(struct trace_probe *tp, bool wait)
{
	struct trace_uprobe *tu;

	lockdep_assert_held(&event_mutex);

	list_for_each_entry(tu, trace_probe_probe_list(tp), tp.list) {
		if (!tu->uprobe)
			continue;
		uprobe_unregister_nosync(tu->uprobe, &tu->consumer);
		tu->uprobe = NULL;
		uprobe_sync_owed = true;
	}
	if (wait)
		uprobe_settle();
}

/*
 * Enable the event of @call for the ftrace instance of @file, or for perf if
 * @file is NULL.  An event serves ftrace or perf, not both at once.
 */
static int trace_uprobe_enable(struct trace_event_call *call,
			       struct trace_event_file *file)
{
	struct trace_probe *tp = trace_probe_primary_from_call(call);
	struct trace_uprobe *tu;
	bool was_enabled;
	int ret;

	lockdep_assert_held(&event_mutex);
	if (WARN_ON_ONCE(!tp))
		return -ENODEV;

	/*
	 * An event serves either ftrace files or perf at a time, never both: their
	 * consumers filter processes differently (perf per task, ftrace none).
	 */
	if (trace_probe_test_flag(tp, file ? TP_FLAG_PROFILE : TP_FLAG_TRACE))
		return -EINTR;
	was_enabled = trace_probe_is_enabled(tp);
	ret = file ? trace_probe_add_file(tp, file) : 0;
	if (ret)
		return ret;
	if (!file)
		trace_probe_set_flag(tp, TP_FLAG_PROFILE);
	if (was_enabled) {
		/*
		 * Whoever enabled it first may have left the breakpoints to its return
		 * to user space: this enabler too returns with them in.
		 */
		list_for_each_entry(tu, trace_probe_probe_list(tp), tp.list)
			if (tu->uprobe)
				uprobe_wait_installed(tu->uprobe);
		return 0;
	}

	ret = uprobe_scratch_get();
	if (ret)
		goto err_flags;

	list_for_each_entry(tu, trace_probe_probe_list(tp), tp.list) {
		tu->consumer.filter = file ? NULL : uprobe_perf_filter;
		ret = trace_uprobe_arm(tu);
		if (ret)
			goto err_disarm;
	}
	return 0;

err_disarm:
	trace_uprobe_disarm_all(tp, true);
	uprobe_scratch_put();
err_flags:
	if (file)
		trace_probe_remove_file(tp, file);
	else
		trace_probe_clear_flag(tp, TP_FLAG_PROFILE);
	return ret;
}

static void trace_uprobe_disable(struct trace_event_call *call,
				 struct trace_event_file *file)
{
	struct trace_probe *tp = trace_probe_primary_from_call(call);

	lockdep_assert_held(&event_mutex);
	if (WARN_ON_ONCE(!tp) || !trace_probe_is_enabled(tp))
		return;

	if (file) {
		if (trace_probe_remove_file(tp, file) || trace_probe_is_enabled(tp))
			return;
	} else {
		trace_probe_clear_flag(tp, TP_FLAG_PROFILE);
	}

	trace_uprobe_disarm_all(tp, !file);
	uprobe_scratch_put();
}

/* The event class's reg() callback; the tracing core holds event_mutex. */
static int trace_uprobe_register(struct trace_event_call *call,
				 enum trace_reg type, void *data)
{
	switch (type) {
	case TRACE_REG_REGISTER:
		return trace_uprobe_enable(call, data);
	case TRACE_REG_UNREGISTER:
		trace_uprobe_disable(call, data);
		return 0;
	case TRACE_REG_PERF_REGISTER:
		return trace_uprobe_enable(call, NULL);
	case TRACE_REG_PERF_UNREGISTER:
		trace_uprobe_disable(call, NULL);
		return 0;
	case TRACE_REG_PERF_OPEN:
		return uprobe_perf_open(call, data);
	case TRACE_REG_PERF_CLOSE:
		return uprobe_perf_close(call, data);
	default:
		return 0;
	}
}

/* ---------------------------------------------------------------------
 * The event: its fields and how a record prints.
 */

static int uprobe_event_define_fields(struct trace_event_call *call)
{
	static const char * const entry_names[] = { FIELD_STRING_IP };
	static const char * const return_names[] = { FIELD_STRING_FUNC, FIELD_STRING_RETIP };
	struct trace_uprobe *tu = trace_uprobe_primary(call);
	const char * const *names;
	int i, n, ret;

	if (!tu)
		return -ENODEV;

	names = is_ret_probe(tu) ? return_names : entry_names;
	n = is_ret_probe(tu) ? ARRAY_SIZE(return_names) : ARRAY_SIZE(entry_names);
	for (i = 0; i < n; i++) {
		ret = trace_define_field(call, "unsigned long", names[i],
					 offsetof(struct uprobe_record, addr) +
					 i * sizeof(unsigned long),
					 sizeof(unsigned long), 0, FILTER_OTHER);
		if (ret)
			return ret;
	}
	return traceprobe_define_arg_fields(call, uprobe_record_head(tu), &tu->tp);
}

static enum print_line_t uprobe_event_print(struct trace_iterator *iter, int flags,
					    struct trace_event *event)
{
	struct trace_event_call *call = container_of(event, struct trace_event_call, event);
	struct uprobe_record *rec = (struct uprobe_record *)iter->ent;
	struct trace_uprobe *tu = trace_uprobe_primary(call);
	struct trace_seq *s = &iter->seq;

	if (!tu)
		return trace_handle_return(s);

	if (is_ret_probe(tu))
		trace_seq_printf(s, "%s: (0x%lx <- 0x%lx)", trace_probe_name(&tu->tp),
				 rec->addr[1], rec->addr[0]);
	else
		trace_seq_printf(s, "%s: (0x%lx)", trace_probe_name(&tu->tp), rec->addr[0]);

	if (trace_probe_print_args(s, tu->tp.args, tu->tp.nr_args,
				   (u8 *)rec + uprobe_record_head(tu), rec) >= 0)
		trace_seq_putc(s, '\n');
	return trace_handle_return(s);
}

static struct trace_event_functions uprobe_event_funcs = {
	.trace	= uprobe_event_print,
};

static struct trace_event_fields uprobe_event_fields[] = {
	{ .type = TRACE_FUNCTION_TYPE, .define_fields = uprobe_event_define_fields },
	{}
};

static void trace_uprobe_init_call(struct trace_uprobe *tu)
{
	struct trace_event_call *call = trace_probe_event_call(&tu->tp);

	call->event.funcs = &uprobe_event_funcs;
	call->class->fields_array = uprobe_event_fields;
	call->class->reg = trace_uprobe_register;
	call->flags = TRACE_EVENT_FL_UPROBE | TRACE_EVENT_FL_CAP_ANY;
}

/* ---------------------------------------------------------------------
 * Life of a trace_uprobe.
 */

/*
 * Allocate an unlinked probe of the event GROUP/EVENT with room for @nargs
 * arguments.  It takes over @filename and @path (also on failure).
 */
static struct trace_uprobe *
alloc_trace_uprobe(const char *group, const char *event, int nargs, bool is_return,
		   char *filename, struct path *path)
{
	struct trace_uprobe *tu;
	int ret = -ENOMEM;

	tu = kzalloc(struct_size(tu, tp.args, nargs), GFP_KERNEL);
	if (!tu)
		goto err_path;

	tu->nhits = alloc_percpu(unsigned long);
	if (!tu->nhits)
		goto err_free;

	ret = trace_probe_init(&tu->tp, event, group, true, nargs);
	if (ret)
		goto err_free;

	dyn_event_init(&tu->devent, &trace_uprobe_ops);
	uprobe_filter_init(tu->tp.event->filter);
	tu->consumer.handler = uprobe_hit;
	if (is_return)
		tu->consumer.ret_handler = uretprobe_hit;
	tu->filename = filename;
	tu->path = *path;
	return tu;

err_free:
	free_percpu(tu->nhits);
	kfree(tu);
err_path:
	path_put(path);
	kfree(filename);
	return ERR_PTR(ret);
}

static void free_trace_uprobe(struct trace_uprobe *tu)
{
	if (IS_ERR_OR_NULL(tu))
		return;
	trace_probe_cleanup(&tu->tp);
	path_put(&tu->path);
	kfree(tu->filename);
	free_percpu(tu->nhits);
	kfree(tu);
}

DEFINE_FREE(trace_uprobe, struct trace_uprobe *, free_trace_uprobe(_T))

/*
 * The probes on dyn_event_list, indexed for the two questions every new probe
 * asks: is there an event of this name, and a probe at this offset with another
 * reference counter?  Walking the list instead would make adding N probes cost
 * N^2 string compares.  Both tables are under event_mutex.
 */
#define TRACE_UPROBE_HASH_BITS	8
static DEFINE_HASHTABLE(trace_uprobes_by_name, TRACE_UPROBE_HASH_BITS);
static DEFINE_HASHTABLE(trace_uprobes_by_offset, TRACE_UPROBE_HASH_BITS);

static u32 event_name_hash(const char *event, const char *group)
{
	return jhash(event, strlen(event), jhash(group, strlen(group), 0));
}

/* Put @tu on dyn_event_list, and in the indexes. */
static void trace_uprobe_list_add(struct trace_uprobe *tu)
{
	lockdep_assert_held(&event_mutex);

	dyn_event_add(&tu->devent, trace_probe_event_call(&tu->tp));
	hash_add(trace_uprobes_by_name, &tu->name_node,
		 event_name_hash(trace_probe_name(&tu->tp), trace_probe_group_name(&tu->tp)));
	hash_add(trace_uprobes_by_offset, &tu->offset_node, tu->offset);
}

static void trace_uprobe_list_del(struct trace_uprobe *tu)
{
	lockdep_assert_held(&event_mutex);

	hash_del(&tu->offset_node);
	hash_del(&tu->name_node);
	dyn_event_remove(&tu->devent);
}

/* A probe of the event GROUP/EVENT, or NULL. */
static struct trace_uprobe *find_trace_uprobe(const char *event, const char *group)
{
	struct trace_uprobe *tu;

	lockdep_assert_held(&event_mutex);

	hash_for_each_possible(trace_uprobes_by_name, tu, name_node,
			       event_name_hash(event, group)) {
		if (!strcmp(trace_probe_name(&tu->tp), event) &&
		    !strcmp(trace_probe_group_name(&tu->tp), group))
			return tu;
	}
	return NULL;
}

static bool same_location(struct trace_uprobe *a, struct trace_uprobe *b)
{
	return d_real_inode(a->path.dentry) == d_real_inode(b->path.dentry) &&
	       a->offset == b->offset;
}

/*
 * The uprobes core keeps one reference counter per probe point: refuse a
 * probe that names a different one than an existing probe at the same place.
 */
static int check_ref_ctr(struct trace_uprobe *new)
{
	struct trace_uprobe *tu;

	lockdep_assert_held(&event_mutex);

	hash_for_each_possible(trace_uprobes_by_offset, tu, offset_node, new->offset) {
		if (same_location(tu, new) && tu->ref_ctr_offset != new->ref_ctr_offset) {
			pr_warn("Reference counter offset mismatch.\n");
			return -EINVAL;
		}
	}
	return 0;
}

/* Whether @event already has a probe at @tu's place with the same arguments. */
static bool event_has_probe(struct trace_uprobe *event, struct trace_uprobe *tu)
{
	struct trace_uprobe *pos;
	int i;

	list_for_each_entry(pos, trace_probe_probe_list(&event->tp), tp.list) {
		if (!same_location(pos, tu))
			continue;
		/* trace_probe_compare_arg_type() matched names and types. */
		for (i = 0; i < tu->tp.nr_args; i++)
			if (strcmp(pos->tp.args[i].comm, tu->tp.args[i].comm))
				break;
		if (i == tu->tp.nr_args)
			return true;
	}
	return false;
}

/* Log why a probe cannot join an existing event: @err, at word @word. */
static int refuse_join(int word, int err)
{
	trace_probe_log_set_index(word);
	__trace_probe_log_err(0, err);
	return -EEXIST;
}

/* Add @tu as one more probe of the existing event of @event. */
static int join_event(struct trace_uprobe *tu, struct trace_uprobe *event)
{
	int ret;

	if (is_ret_probe(tu) != is_ret_probe(event))
		return refuse_join(0, TP_ERR_DIFF_PROBE_TYPE);
	/* The first differing argument, counted from 1; arguments start at word 2. */
	ret = trace_probe_compare_arg_type(&tu->tp, &event->tp);
	if (ret)
		return refuse_join(ret + 1, TP_ERR_DIFF_ARG_TYPE);
	if (event_has_probe(event, tu))
		return refuse_join(0, TP_ERR_SAME_PROBE);

	ret = trace_probe_append(&tu->tp, &event->tp);
	if (ret)
		return ret;

	/* A probe joining an enabled event starts firing right away. */
	if (trace_probe_is_enabled(&tu->tp)) {
		tu->consumer.filter = event->consumer.filter;
		ret = trace_uprobe_arm(tu);
		if (ret) {
			/* Refused at its location word, like every other refusal of the line. */
			trace_probe_log_set_index(1);
			__trace_probe_log_err(0, TP_ERR_FAIL_REG_PROBE);
			trace_probe_unlink(&tu->tp);
			return ret;
		}
	}
	trace_uprobe_list_add(tu);
	return 0;
}

/* Make the new probe @tu visible: a new event, or a probe of an existing one. */
static int register_trace_uprobe(struct trace_uprobe *tu)
{
	struct trace_uprobe *event;
	int ret;

	guard(mutex)(&event_mutex);

	ret = check_ref_ctr(tu);
	if (ret)
		return ret;

	event = find_trace_uprobe(trace_probe_name(&tu->tp), trace_probe_group_name(&tu->tp));
	if (event)
		return join_event(tu, event);

	trace_uprobe_init_call(tu);
	ret = trace_probe_register_event_call(&tu->tp);
	if (ret == -EEXIST) {
		trace_probe_log_set_index(0);
		trace_probe_log_err(0, EVENT_EXIST);
	} else if (ret) {
		pr_warn("Failed to register probe event(%d)\n", ret);
	}
	if (ret)
		return ret;

	trace_uprobe_list_add(tu);
	return 0;
}

/*
 * Remove @tu and free it; event_mutex held.  Its event goes with its last
 * probe.  An event in use (enabled, or open in perf) keeps all its probes.
 */
static int unregister_trace_uprobe(struct trace_uprobe *tu)
{
	struct trace_event_call *call = trace_probe_event_call(&tu->tp);
	int ret;

	lockdep_assert_held(&event_mutex);

	if (trace_probe_is_enabled(&tu->tp) || trace_event_dyn_busy(call))
		return -EBUSY;

	/*
	 * Its consumer may have been unregistered without a wait, and a handler that
	 * started before may still be reading the event and its files: wait for it
	 * before any of them is freed.
	 */
	uprobe_settle();
	if (!trace_probe_has_sibling(&tu->tp)) {
		ret = trace_probe_unregister_event_call(&tu->tp);
		if (ret)
			return ret;
	}

	trace_uprobe_list_del(tu);
	trace_probe_unlink(&tu->tp);
	free_trace_uprobe(tu);
	return 0;
}

/* ---------------------------------------------------------------------
 * The command parser.
 *
 * A line of uprobe_events (or a uprobe line of dynamic_events) is split into
 * words by trace_probe_create() and reads:
 *
 *	p[:[GROUP/][EVENT]] PATH:OFFSET[%return][(REFCTR)] [ARG ...]
 *	r[:[GROUP/][EVENT]] PATH:OFFSET[(REFCTR)] [ARG ...]
 *	-:[GROUP/]EVENT [PATH:OFFSET [ARG ...]]
 *
 * 'r', or 'p' with "%return", probes the return of the function at OFFSET.
 * GROUP defaults to "uprobes" (a '.' may stand for the '/'); EVENT defaults to
 * p_STEM_0xOFFSET, STEM being PATH's last component up to its first '.',
 * '-' or '_'.  PATH must contain a '/' and name a regular file; OFFSET is
 * where the probe goes in that file and REFCTR where its USDT semaphore is,
 * both numbers in C notation.  Each ARG is [NAME=]FETCHARG[:TYPE] and is
 * parsed by traceprobe_parse_probe_arg(); at most MAX_TRACE_ARGS of them.
 * Removal lines are parsed by dyn_event_release(), which matches events
 * with trace_uprobe_match().
 *
 * A line that is not ours (another letter, no '/' in PATH, no digit after
 * PATH's last ':') returns -ECANCELED so that dynamic_events can offer it to
 * the other event types.  Every later error is logged to tracefs error_log,
 * at the word and column of the offending token.
 */

/* PATH:OFFSET[%return][(REFCTR)], taken apart. */
struct uprobe_location {
	char		*filename;	/* kmalloc'ed: PATH */
	struct path	path;
	unsigned long	offset;
	unsigned long	ref_ctr_offset;
	bool		is_return;
};

/*
 * Parse the location word @word (word 1 of the command, whose last ':' is
 * known to be followed by a digit).  Error columns are relative to @word.
 */
static int parse_uprobe_location(const char *word, struct uprobe_location *loc)
{
	char *buf, *num, *open, *close, *suffix;
	int ret;

	buf = kstrdup(word, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	num = strrchr(buf, ':');
	*num++ = '\0';

	ret = kern_path(buf, LOOKUP_FOLLOW, &loc->path);
	if (ret) {
		trace_probe_log_err(0, FILE_NOT_FOUND);
		goto err_free;
	}
	ret = -EINVAL;
	if (!d_is_reg(loc->path.dentry)) {
		trace_probe_log_err(0, NO_REGULAR_FILE);
		goto err_put;
	}

	/* "(REFCTR)" must close the word. */
	open = strchr(num, '(');
	if (open) {
		close = strchr(open, ')');
		if (!close) {
			trace_probe_log_err(open + strlen(open) - buf, REFCNT_OPEN_BRACE);
			goto err_put;
		}
		if (close[1]) {
			trace_probe_log_err(close + 1 - buf, BAD_REFCNT_SUFFIX);
			goto err_put;
		}
		*open = *close = '\0';
		ret = kstrtoul(open + 1, 0, &loc->ref_ctr_offset);
		if (ret) {
			trace_probe_log_err(open + 1 - buf, BAD_REFCNT);
			goto err_put;
		}
	}

	suffix = strchr(num, '%');
	if (suffix) {
		if (strcmp(suffix, "%return")) {
			ret = -EINVAL;
			trace_probe_log_err(suffix - buf, BAD_ADDR_SUFFIX);
			goto err_put;
		}
		*suffix = '\0';
		loc->is_return = true;
	}

	ret = kstrtoul(num, 0, &loc->offset);
	if (ret) {
		trace_probe_log_err(num - buf, BAD_UPROBE_OFFS);
		goto err_put;
	}

	loc->filename = buf;
	return 0;

err_put:
	path_put(&loc->path);
err_free:
	kfree(buf);
	return ret;
}

/* Parse and register a probe line already known to be ours; logging is set up. */
static int create_trace_uprobe(int argc, const char **argv)
{
	struct uprobe_location loc = { .is_return = argv[0][0] == 'r' };
	const char *event = NULL, *group = UPROBE_EVENT_SYSTEM;
	char gbuf[MAX_EVENT_NAME_LEN], ebuf[MAX_EVENT_NAME_LEN];
	int i, ret;

	trace_probe_log_set_index(1);
	ret = parse_uprobe_location(argv[1], &loc);
	if (ret)
		return ret;

	trace_probe_log_set_index(0);
	if (argv[0][1] == ':') {
		event = &argv[0][2];
		ret = traceprobe_parse_event_name(&event, &group, gbuf, event - argv[0]);
		if (ret) {
			path_put(&loc.path);
			kfree(loc.filename);
			return ret;
		}
	}
	if (!event) {
		const char *base = kbasename(loc.filename);

		snprintf(ebuf, sizeof(ebuf), "p_%.*s_0x%lx",
			 (int)strcspn(base, ".-_"), base, loc.offset);
		event = ebuf;
	}

	struct trace_uprobe *tu __free(trace_uprobe) =
		alloc_trace_uprobe(group, event, argc - 2, loc.is_return,
				   loc.filename, &loc.path);
	if (IS_ERR(tu))
		return PTR_ERR(tu);
	tu->offset = loc.offset;
	tu->ref_ctr_offset = loc.ref_ctr_offset;

	for (i = 2; i < argc; i++) {
		struct traceprobe_parse_context ctx = {
			.flags = TPARG_FL_USER | (loc.is_return ? TPARG_FL_RETURN : 0),
		};

		trace_probe_log_set_index(i);
		ret = traceprobe_parse_probe_arg(&tu->tp, i - 2, argv[i], &ctx);
		traceprobe_finish_parse(&ctx);
		if (ret)
			return ret;
	}

	ret = traceprobe_set_print_fmt(&tu->tp, loc.is_return ? PROBE_PRINT_RETURN :
								 PROBE_PRINT_NORMAL);
	if (ret < 0)
		return ret;

	ret = register_trace_uprobe(tu);
	if (ret)
		return ret;
	retain_and_null_ptr(tu);
	return 0;
}

static int trace_uprobe_parse(int argc, const char **argv)
{
	const char *colon;
	int ret;

	if ((argv[0][0] != 'p' && argv[0][0] != 'r') || argc < 2)
		return -ECANCELED;
	if (argc - 2 > MAX_TRACE_ARGS)
		return -E2BIG;
	colon = strrchr(argv[1], ':');
	if (!strchr(argv[1], '/') || !colon || !isdigit(colon[1]))
		return -ECANCELED;

	trace_probe_log_init("trace_uprobe", argc, argv);
	ret = create_trace_uprobe(argc, argv);
	trace_probe_log_clear();
	return ret;
}

static int trace_uprobe_create(const char *raw_command)
{
	return trace_probe_create(raw_command, trace_uprobe_parse);
}

/* ---------------------------------------------------------------------
 * dyn_event operations and the tracefs files.
 */

/* "0xOFFSET[(0xREFCTR)]" as the event listing writes it after "PATH:". */
static void format_offset(char *buf, size_t size, struct trace_uprobe *tu)
{
	int n = snprintf(buf, size, "0x%0*lx", (int)(2 * sizeof(long)), tu->offset);

	if (tu->ref_ctr_offset)
		snprintf(buf + n, size - n, "(0x%lx)", tu->ref_ctr_offset);
}

static int trace_uprobe_show(struct seq_file *m, struct dyn_event *ev)
{
	struct trace_uprobe *tu = to_trace_uprobe(ev);
	char where[48];
	int i;

	format_offset(where, sizeof(where), tu);
	seq_printf(m, "%c:%s/%s %s:%s", is_ret_probe(tu) ? 'r' : 'p',
		   trace_probe_group_name(&tu->tp), trace_probe_name(&tu->tp),
		   tu->filename, where);
	for (i = 0; i < tu->tp.nr_args; i++)
		seq_printf(m, " %s=%s", tu->tp.args[i].name, tu->tp.args[i].comm);
	seq_putc(m, '\n');
	return 0;
}

static bool trace_uprobe_is_busy(struct dyn_event *ev)
{
	return trace_probe_is_enabled(&to_trace_uprobe(ev)->tp);
}

static int trace_uprobe_free(struct dyn_event *ev)
{
	return unregister_trace_uprobe(to_trace_uprobe(ev));
}

/*
 * Does @ev match a removal "-:[SYSTEM/]EVENT [PATH:OFFSET [ARG ...]]"?  An
 * empty EVENT matches every event of SYSTEM; the words after it, if given,
 * must repeat the event's definition as the listing shows it.
 */
static bool trace_uprobe_match(const char *system, const char *event,
			       int argc, const char **argv, struct dyn_event *ev)
{
	struct trace_uprobe *tu = to_trace_uprobe(ev);
	size_t len = strlen(tu->filename);
	char where[48];

	if (event[0] && strcmp(trace_probe_name(&tu->tp), event))
		return false;
	if (system && strcmp(trace_probe_group_name(&tu->tp), system))
		return false;
	if (!argc)
		return true;

	format_offset(where, sizeof(where), tu);
	if (strncmp(argv[0], tu->filename, len) || argv[0][len] != ':' ||
	    strcmp(argv[0] + len + 1, where))
		return false;
	return trace_probe_match_command_args(&tu->tp, argc - 1, argv + 1);
}

static int uprobe_events_seq_show(struct seq_file *m, void *v)
{
	struct dyn_event *ev = v;

	return is_trace_uprobe(ev) ? trace_uprobe_show(m, ev) : 0;
}

static const struct seq_operations uprobe_events_seq_ops = {
	.start	= dyn_event_seq_start,
	.next	= dyn_event_seq_next,
	.stop	= dyn_event_seq_stop,
	.show	= uprobe_events_seq_show,
};

static int uprobe_events_open(struct inode *inode, struct file *file)
{
	int ret = security_locked_down(LOCKDOWN_TRACEFS);

	/*
	 * Truncation removes every uprobe event, or none if one is busy.  The
	 * removals share a single grace period (see uprobe_settle()).
	 */
	if (!ret && (file->f_mode & FMODE_WRITE) && (file->f_flags & O_TRUNC))
		ret = dyn_events_release_all(&trace_uprobe_ops);
	return ret ?: seq_open(file, &uprobe_events_seq_ops);
}

/* uprobe_events takes only uprobe lines, and says -EINVAL to others. */
static int uprobe_events_run(const char *cmd)
{
	int ret;

	if (cmd[0] == '-')
		return dyn_event_release(cmd, &trace_uprobe_ops);

	ret = dyn_event_create(cmd, &trace_uprobe_ops);
	return ret == -ECANCELED ? -EINVAL : ret;
}

static ssize_t uprobe_events_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	return trace_parse_run_command(file, ubuf, count, ppos, uprobe_events_run);
}

static const struct file_operations uprobe_events_fops = {
	.owner		= THIS_MODULE,
	.open		= uprobe_events_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= seq_release,
	.write		= uprobe_events_write,
};

static int uprobe_profile_seq_show(struct seq_file *m, void *v)
{
	struct dyn_event *ev = v;
	struct trace_uprobe *tu;
	unsigned long hits = 0;
	int cpu;

	if (!is_trace_uprobe(ev))
		return 0;

	tu = to_trace_uprobe(ev);
	for_each_possible_cpu(cpu)
		hits += *per_cpu_ptr(tu->nhits, cpu);
	seq_printf(m, "  %s %-44s %15lu\n", tu->filename, trace_probe_name(&tu->tp), hits);
	return 0;
}

static const struct seq_operations uprobe_profile_seq_ops = {
	.start	= dyn_event_seq_start,
	.next	= dyn_event_seq_next,
	.stop	= dyn_event_seq_stop,
	.show	= uprobe_profile_seq_show,
};

static int uprobe_profile_open(struct inode *inode, struct file *file)
{
	return security_locked_down(LOCKDOWN_TRACEFS) ?: seq_open(file, &uprobe_profile_seq_ops);
}

static const struct file_operations uprobe_profile_fops = {
	.owner		= THIS_MODULE,
	.open		= uprobe_profile_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= seq_release,
};

/* ---------------------------------------------------------------------
 * The perf uprobe PMU and BPF.
 */

/**
 * create_local_trace_uprobe - make an unlisted uprobe event for perf
 * @name: path of the file to probe
 * @offs: offset of the probe in that file
 * @ref_ctr_offset: offset of the USDT semaphore in that file, or 0
 * @is_return: probe the return of the function at @offs
 *
 * The event has no arguments and is neither in tracefs nor on
 * dyn_event_list; perf_uprobe_init() enables it for the perf event that asked.
 *
 * Return: the event's trace_event_call, or an ERR_PTR().
 */
struct trace_event_call *
create_local_trace_uprobe(char *name, unsigned long offs,
			  unsigned long ref_ctr_offset, bool is_return)
{
	enum probe_print_type ptype = is_return ? PROBE_PRINT_RETURN : PROBE_PRINT_NORMAL;
	char *filename = NULL;
	struct path path;
	int err;

	err = kern_path(name, LOOKUP_FOLLOW, &path);
	if (err)
		return ERR_PTR(err);
	if (d_is_reg(path.dentry))
		filename = kstrdup(name, GFP_KERNEL);
	if (!filename) {
		err = d_is_reg(path.dentry) ? -ENOMEM : -EINVAL;
		path_put(&path);
		return ERR_PTR(err);
	}

	struct trace_uprobe *tu __free(trace_uprobe) =
		alloc_trace_uprobe(UPROBE_EVENT_SYSTEM, UPROBE_LOCAL_EVENT, 0, is_return,
				   filename, &path);
	if (IS_ERR(tu))
		return ERR_CAST(tu);
	tu->offset = offs;
	tu->ref_ctr_offset = ref_ctr_offset;

	trace_uprobe_init_call(tu);
	if (traceprobe_set_print_fmt(&tu->tp, ptype) < 0)
		return ERR_PTR(-ENOMEM);

	return trace_probe_event_call(&no_free_ptr(tu)->tp);
}

/**
 * destroy_local_trace_uprobe - free an event of create_local_trace_uprobe()
 * @event_call: the event, already disabled by perf_uprobe_destroy()
 *
 * Disabling it for perf waited for its handlers, so nothing runs on it now.
 */
void destroy_local_trace_uprobe(struct trace_event_call *event_call)
{
	struct trace_uprobe *tu = trace_uprobe_primary(event_call);

	if (tu)
		free_trace_uprobe(tu);
}

/**
 * bpf_get_uprobe_info - describe the uprobe behind a perf event for BPF
 * @event: a perf event on a uprobe event
 * @fd_type: set to BPF_FD_TYPE_UPROBE or BPF_FD_TYPE_URETPROBE
 * @filename: set to the probed file's path
 * @probe_offset: set to the probe's offset in that file
 * @probe_addr: set to 0: uprobes have no address of their own
 * @perf_type_tracepoint: @event was opened as a tracepoint (by its tracefs id),
 *	not through the uprobe PMU
 *
 * Return: 0, or -EINVAL if @event is not on a uprobe event.
 */
int bpf_get_uprobe_info(const struct perf_event *event, u32 *fd_type,
			const char **filename, u64 *probe_offset,
			u64 *probe_addr, bool perf_type_tracepoint)
{
	struct trace_uprobe *tu;

	/*
	 * Opened by its tracefs id or through the PMU, the perf event is on the
	 * trace_uprobe's own event: its first probe is the one, found without a
	 * walk of every probe (that would want event_mutex).
	 */
	tu = trace_uprobe_primary(event->tp_event);
	if (!tu)
		return -EINVAL;

	*fd_type = is_ret_probe(tu) ? BPF_FD_TYPE_URETPROBE : BPF_FD_TYPE_UPROBE;
	*filename = tu->filename;
	*probe_offset = tu->offset;
	*probe_addr = 0;
	return 0;
}

static __init int init_uprobe_trace(void)
{
	int ret;

	ret = dyn_event_register(&trace_uprobe_ops);
	if (ret)
		return ret;

	if (tracing_init_dentry())
		return 0;

	trace_create_file("uprobe_events", TRACE_MODE_WRITE, NULL, NULL, &uprobe_events_fops);
	trace_create_file("uprobe_profile", TRACE_MODE_READ, NULL, NULL, &uprobe_profile_fops);
	return 0;
}
fs_initcall(init_uprobe_trace);
