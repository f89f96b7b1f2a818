/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _LINUX_UPROBES_H
#define _LINUX_UPROBES_H
/*
 * uprobes: dynamic probes on instructions of user-space programs.
 *
 * A probe names an instruction by the file that holds it and its offset in that file
 * (inode, offset). Consumers attach to a probe; while at least one consumer wants a
 * process, the instruction carries a breakpoint in that process and every hit calls the
 * consumers' handlers. Documentation/trace/ubp.rst describes the layers, the object
 * lifetimes and the locking.
 *
 * This header is the interface the rest of the kernel uses (mm, fork, signals, the
 * return-to-user path, perf, bpf and the trace front end). The breakpoint layer below it
 * is include/linux/ubp.h.
 */

#include <linux/errno.h>
#include <linux/types.h>
#include <linux/list.h>

struct inode;
struct mm_struct;
struct notifier_block;
struct page;
struct pt_regs;
struct task_struct;
struct uprobe;
struct vm_area_struct;

/* A handler returns this to ask that the probe be removed from the current process. */
#define UPROBE_HANDLER_REMOVE		1
#define UPROBE_HANDLER_MASK		1

/* Pending return probes one task may stack up before new ones are dropped. */
#define MAX_URETPROBE_DEPTH		64

#define UPROBE_NO_TRAMPOLINE_VADDR	(~0UL)

/**
 * struct uprobe_consumer - one user of a probe
 * @handler: called in the probed task, before the probed instruction runs. May sleep.
 *	Returning UPROBE_HANDLER_REMOVE asks for the breakpoint to leave this process;
 *	that happens only if every consumer's @filter then says it does not want the
 *	process (a consumer without @filter wants every process).
 * @ret_handler: called when the probed function returns; @func is the probed address.
 * @filter: which processes this consumer wants; NULL means all of them.
 * @cons_node: the probe's consumer list; owned by uprobes.
 */
struct uprobe_consumer {
	int (*handler)(struct uprobe_consumer *self, struct pt_regs *regs);
	int (*ret_handler)(struct uprobe_consumer *self, unsigned long func,
			   struct pt_regs *regs);
	bool (*filter)(struct uprobe_consumer *self, struct mm_struct *mm);

	struct list_head cons_node;
};

#ifdef CONFIG_UPROBES
#include <asm/uprobes.h>
#include <linux/ubp.h>

/* Where a task stands with respect to out-of-line execution. */
enum uprobe_task_state {
	UTASK_RUNNING,		/* not stepping */
	UTASK_SSTEP,		/* stepping the copied instruction in its slot */
	UTASK_SSTEP_ACK,	/* the step trap came: finish the step */
	UTASK_SSTEP_TRAPPED,	/* a signal or fault cut the step short: undo it */
};

/**
 * struct uprobe_last_hit - a site where a task hit a probe lately, so that the next
 *	hit there needs no lookup (kernel/events/uprobes_task.c, hit_find())
 * @vaddr: the site
 * @uprobe: the probe found for it; no reference, used only inside uprobes_srcu
 * @maps_gen: the mm's uprobes_state.maps_gen before the probe was looked up
 * @retired: the count of probes that left the tree (uprobes_retired) then
 *
 * The site still has that probe while neither count has moved: the mm mapped
 * nothing else at @vaddr meanwhile, and the probe is still in the tree, so alive.
 */
struct uprobe_last_hit {
	unsigned long		vaddr;
	struct uprobe		*uprobe;
	u64			maps_gen;
	u64			retired;
};

/*
 * A task remembers a few sites, each in the entry a hash of its address picks: a
 * program whose loop runs several probes in turn (malloc and free; a function and
 * its callee) then finds each again without a lookup. Two sites that pick the same
 * entry take turns in it. UPROBE_LAST_HITS struct uprobe_last_hit a task (256 bytes
 * on 64-bit), allocated with the rest of its uprobe_task at its first hit.
 */
#define UPROBE_LAST_HITS_BITS	3
#define UPROBE_LAST_HITS	(1 << UPROBE_LAST_HITS_BITS)

/*
 * The return instances a task keeps for reuse once they are no longer pending: as
 * many as common nesting of probed functions needs. Deeper nesting allocates the
 * rest and frees them on return, so a task that once recursed deep under a return
 * probe does not keep that memory after.
 */
#define UPROBE_SPARE_RETURNS	8

/**
 * struct uprobe_task - per-task uprobes state, allocated on the task's first hit
 * @state: out-of-line stepping state, see enum uprobe_task_state.
 * @autask: arch state saved across one step.
 * @vaddr: address of the breakpoint being handled; while handlers run the trace
 *	front end may point it at its dispatch data (bpf_get_func_ip() reads it there).
 * @dup_xol_work: task work that maps the XOL area into a forked child.
 * @dup_xol_addr: where the parent had its XOL area.
 * @active_uprobe: the probe being stepped; holds a reference.
 * @xol_vaddr: the slot being stepped in, 0 if none.
 * @auprobe: the arch data of the probe whose handlers run now (perf's unwinder looks
 *	at the probed instruction through it).
 * @return_instances: pending return probes, innermost first.
 * @depth: number of @return_instances.
 * @spare_returns: return instances no longer pending, kept for the next ones.
 * @nr_spare_returns: how many; at most UPROBE_SPARE_RETURNS.
 * @last_hits: the probes of the task's recent hits, and what they were found by.
 */
struct uprobe_task {
	struct return_instance		*return_instances;
	struct return_instance		*spare_returns;
	unsigned int			nr_spare_returns;
	unsigned int			depth;
	enum uprobe_task_state		state;
	struct uprobe			*active_uprobe;
	unsigned long			xol_vaddr;
	struct arch_uprobe		*auprobe;
	/* A stepping task is never a child waiting for its XOL area: share the room. */
	union {
		struct {
			unsigned long		vaddr;
			struct arch_uprobe_task	autask;
		};
		struct {
			unsigned long		dup_xol_addr;
			struct callback_head	dup_xol_work;
		};
	};
	struct uprobe_last_hit		last_hits[UPROBE_LAST_HITS];
};

/**
 * struct return_instance - a return address taken over by a return probe
 * @uprobe: the probe; holds a reference.
 * @func: the probed address (the function entry).
 * @stack: the stack pointer when the return address was taken; tells live frames
 *	from frames abandoned by longjmp().
 * @orig_ret_vaddr: the real return address (perf's callchain code reads it).
 * @chained: this frame returns straight into the frame of the next instance (a tail
 *	call), so both complete at the same trampoline hit.
 * @next: the next outer instance.
 */
struct return_instance {
	struct return_instance	*next;
	struct uprobe		*uprobe;
	unsigned long		orig_ret_vaddr;
	unsigned long		func;
	unsigned long		stack;
	bool			chained;
};

/* Where arch_uretprobe_is_alive() is asked: at a new call, a nested one, or a return. */
enum rp_check {
	RP_CHECK_CALL,
	RP_CHECK_CHAIN_CALL,
	RP_CHECK_RET,
};

/*
 * Per-mm state, embedded in mm_struct: the breakpoint layer's, which ubp.c owns
 * (others only read it, through include/linux/ubp.h), and @maps_gen, bumped
 * whenever a file mapping of the mm comes or goes (it tells a task's struct
 * uprobe_last_hit that it may be stale). fork copies mm_struct byte for byte;
 * kernel/fork.c:mm_init_uprobes_state() zeroes this for the child.
 */
struct uprobes_state {
	struct ubp_mm_state	ubp;
	atomic64_t		maps_gen;
};

/* Called by the rest of the kernel. */
void __init uprobes_init(void);
struct uprobe *uprobe_register(struct inode *inode, loff_t offset, loff_t ref_ctr_offset,
			       struct uprobe_consumer *uc);
int uprobe_apply(struct uprobe *uprobe, struct uprobe_consumer *uc, bool add);
void uprobe_unregister_nosync(struct uprobe *uprobe, struct uprobe_consumer *uc);
void uprobe_unregister_sync(void);
void uprobe_wait_installed(struct uprobe *uprobe);
int uprobe_mmap(struct vm_area_struct *vma);
void uprobe_munmap(struct vm_area_struct *vma, unsigned long start, unsigned long end);
void uprobe_start_dup_mmap(void);
void uprobe_end_dup_mmap(void);
void uprobe_dup_mmap(struct mm_struct *oldmm, struct mm_struct *newmm);
void uprobe_free_utask(struct task_struct *t);
void uprobe_copy_process(struct task_struct *t, unsigned long flags);
void uprobe_notify_resume(struct pt_regs *regs);
bool uprobe_handle_int3(struct pt_regs *regs);
bool uprobe_deny_signal(void);
void uprobe_clear_state(struct mm_struct *mm);
unsigned long uprobe_get_swbp_addr(struct pt_regs *regs);
unsigned long uprobe_get_trap_addr(struct pt_regs *regs);
unsigned long uprobe_get_trampoline_vaddr(void);
void uprobe_handle_trampoline(struct pt_regs *regs);
void uprobe_handle_stub_hit(struct pt_regs *regs, unsigned long vaddr);
void uprobe_mremap(struct vm_area_struct *vma, unsigned long start, unsigned long end);
void uprobe_unmap_range(struct mm_struct *mm, unsigned long start, unsigned long end);
void uprobe_task_watched(struct task_struct *task);
bool uprobe_syscall_is_ours(struct pt_regs *regs);

/* Called by the arch exception hooks. */
int uprobe_pre_sstep_notifier(struct pt_regs *regs);
int uprobe_post_sstep_notifier(struct pt_regs *regs);

/*
 * The arch contract. Each arch provides these; the __weak defaults in
 * kernel/events/uprobes_task.c fit most. The hooks of the XOL area (trampoline, placement,
 * copying) are declared in include/linux/ubp.h, whose layer calls them.
 */
bool is_swbp_insn(uprobe_opcode_t *insn);
bool is_trap_insn(uprobe_opcode_t *insn);
uprobe_opcode_t arch_uprobe_swbp_insn(struct arch_uprobe *aup);
int arch_uprobe_analyze_insn(struct arch_uprobe *aup, struct mm_struct *mm,
			     unsigned long addr);
int arch_uprobe_pre_xol(struct arch_uprobe *aup, struct pt_regs *regs);
int arch_uprobe_post_xol(struct arch_uprobe *aup, struct pt_regs *regs);
bool arch_uprobe_xol_was_trapped(struct task_struct *tsk);
bool arch_uprobe_xol_unfinished(struct arch_uprobe *aup, struct pt_regs *regs);
void arch_uprobe_abort_xol(struct arch_uprobe *aup, struct pt_regs *regs);
bool arch_uprobe_skip_sstep(struct arch_uprobe *aup, struct pt_regs *regs);
bool arch_uprobe_ignore(struct arch_uprobe *aup, struct pt_regs *regs);
void arch_uprobe_own_trap(struct pt_regs *regs);
int arch_uprobe_exception_notify(struct notifier_block *self, unsigned long val,
				 void *data);
unsigned long arch_uretprobe_hijack_return_addr(unsigned long trampoline_vaddr,
						struct pt_regs *regs);
bool arch_uretprobe_is_alive(struct return_instance *ret, enum rp_check ctx,
			     struct pt_regs *regs);
bool arch_uprobe_optimizable(struct arch_uprobe *aup, struct pt_regs *regs,
			     unsigned long vaddr);
/*
 * What analysis decided of arch_uprobe_optimizable() for every hit: false where
 * it is false whatever the hit. Every emulated hit asks, so it is a test inline.
 */
#ifndef arch_uprobe_may_optimize
static inline bool arch_uprobe_may_optimize(struct arch_uprobe *aup)
{
	return false;
}
#endif
void arch_uprobe_optimize(struct arch_uprobe *aup, struct vm_area_struct *vma,
			  unsigned long vaddr);
void arch_uprobe_unoptimize(struct arch_uprobe *aup, struct vm_area_struct *vma,
			    unsigned long vaddr);
bool arch_uprobe_syscall_is_ours(struct pt_regs *regs);

#else /* !CONFIG_UPROBES */

/* Without uprobes: nothing to keep per mm, nothing to do, registration refused. */
struct uprobes_state {
};

#define uprobe_get_trap_addr(regs)	instruction_pointer(regs)

static inline int uprobe_apply(struct uprobe *uprobe, struct uprobe_consumer *uc, bool add)
{ return -EOPNOTSUPP; }
static inline void uprobe_clear_state(struct mm_struct *mm) { }
static inline void uprobe_copy_process(struct task_struct *t, unsigned long flags) { }
static inline bool uprobe_deny_signal(void) { return false; }
static inline bool uprobe_handle_int3(struct pt_regs *regs) { return false; }
static inline void uprobe_dup_mmap(struct mm_struct *oldmm, struct mm_struct *newmm) { }
static inline void uprobe_end_dup_mmap(void) { }
static inline void uprobe_free_utask(struct task_struct *t) { }
static inline int uprobe_mmap(struct vm_area_struct *vma) { return 0; }
static inline void uprobe_munmap(struct vm_area_struct *vma, unsigned long start,
				 unsigned long end) { }
static inline void uprobe_mremap(struct vm_area_struct *vma, unsigned long start,
				 unsigned long end) { }
static inline void uprobe_unmap_range(struct mm_struct *mm, unsigned long start,
				      unsigned long end) { }
static inline void uprobe_task_watched(struct task_struct *task) { }
static inline bool uprobe_syscall_is_ours(struct pt_regs *regs) { return false; }
static inline void uprobe_notify_resume(struct pt_regs *regs) { }
static inline struct uprobe *uprobe_register(struct inode *inode, loff_t offset,
					     loff_t ref_ctr_offset,
					     struct uprobe_consumer *uc)
{ return ERR_PTR(-EOPNOTSUPP); }
static inline void uprobe_start_dup_mmap(void) { }
static inline void uprobe_unregister_nosync(struct uprobe *uprobe,
					    struct uprobe_consumer *uc) { }
static inline void uprobe_unregister_sync(void) { }
static inline void uprobe_wait_installed(struct uprobe *uprobe) { }
static inline void uprobes_init(void) { }
#endif /* !CONFIG_UPROBES */
#endif /* _LINUX_UPROBES_H */
