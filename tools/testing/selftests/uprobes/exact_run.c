// SPDX-License-Identifier: GPL-2.0
/*
 * One trial of a case of the exactness test, the same for the 64-bit test and the
 * 32-bit helper: registers and flags from a seed, the operand page prepared as the
 * situation wants, the wrapper run with every signal it raises caught (the
 * registers at the signal are the outcome then), and the bytes around both
 * pointers dumped.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "exact_run.h"

#define FLAG_TF		0x100UL
#define FLAG_AC		0x40000UL
#define ARITH_FLAGS	0x8d5UL		/* CF PF AF ZF SF OF */

#define STR_(x)		#x
#define STR(x)		STR_(x)

static sigjmp_buf xc_jmp;
static struct xc_result *xc_cur;
volatile unsigned long xc_storm_signals;

#ifdef __x86_64__
static const int greg_of[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};
#define NR_GPR		16
#define REG_IP		REG_RIP
#define REG_FLAGS	REG_EFL
typedef uint64_t xc_word;
#else
static const int greg_of[8] = {
	REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_ESP, REG_EBP, REG_ESI, REG_EDI,
};
#define NR_GPR		8
#define REG_IP		REG_EIP
#define REG_FLAGS	REG_EFL
typedef uint32_t xc_word;
#endif

/* The wrapper's view: the general registers in encoding order, then the flags. */
struct xc_regs {
	xc_word gpr[NR_GPR];
	xc_word flags;
};

enum { AX, CX, DX, BX, SP, BP, SI, DI, R12 = 12 };

#ifdef __x86_64__
/*
 * xc_call_stopped(fn, regs, pid): kill(pid, SIGSTOP), then a tail call of the wrapper
 * fn(regs). A tracer that single-steps from that stop is inside the wrapper after
 * three steps, where one from a raise() would first step out of libc.
 */
void xc_call_stopped(void (*fn)(void *), void *regs, long pid);
asm(".text\n"
	".type xc_call_stopped, @function\n"
	"xc_call_stopped:\n"
	"	push %rdi\n"
	"	push %rsi\n"
	"	mov %rdx, %rdi\n"
	"	mov $" STR(SIGSTOP) ", %esi\n"
	"	mov $" STR(__NR_kill) ", %eax\n"
	"	syscall\n"
	"	pop %rdi\n"
	"	pop %rax\n"
	"	jmp *%rax\n"
	".size xc_call_stopped, . - xc_call_stopped\n");
#endif

/* A fault of the instruction: its registers are the outcome; back to the runner. */
static void fault_handler(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	int i;

	/* Alignment checking must not follow us into the C code. */
	asm volatile("pushf; andl $~0x40000, (%%" XC_SP "); popf" : : : "memory", "cc");
	if (!xc_cur)
		_exit(100 + sig);
	for (i = 0; i < NR_GPR; i++)
		xc_cur->gpr[i] = (xc_word)uc->uc_mcontext.gregs[greg_of[i]];
	xc_cur->flags = (xc_word)uc->uc_mcontext.gregs[REG_FLAGS];
	xc_cur->sig_ip = (xc_word)uc->uc_mcontext.gregs[REG_IP];
	xc_cur->sig = sig;
	xc_cur->sig_code = si->si_code;
	xc_cur->sig_addr = (uintptr_t)si->si_addr;
	siglongjmp(xc_jmp, 1);
}

static void storm_handler(int sig)
{
	xc_storm_signals++;
}

int xc_signals_init(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE };
	static char altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_sigaction = fault_handler,
				.sa_flags = SA_SIGINFO | SA_ONSTACK };
	unsigned int i;

	/* The stack pointer of a case points into its arena: handlers run elsewhere. */
	if (sigaltstack(&ss, NULL))
		return -1;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		if (sigaction(sigs[i], &sa, NULL))
			return -1;
	sa.sa_handler = storm_handler;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	return sigaction(SIGALRM, &sa, NULL);
}

static uint64_t rand64(void)
{
	return (uint64_t)random() << 62 ^ (uint64_t)random() << 31 ^ random();
}

static unsigned int name_seed(const char *s)
{
	unsigned int h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/* The registers and the page image of trial @t of @c; the same on every call. */
static void make_state(const struct xc_case *c, unsigned int t, const struct xc_env *env,
		       uint8_t *page, struct xc_regs *r, uint8_t *image)
{
	uintptr_t mem = (uintptr_t)page + XC_MEM_OFF + env->mem_shift;
	uintptr_t sp = (uintptr_t)page + XC_STACK_OFF + env->stack_shift;
	xc_word top;
	unsigned int i;

	srandom(name_seed(c->name) ^ (t * 7919 + 17));
	for (i = 0; i < NR_GPR; i++) {
		switch (random() % 4) {
		case 0:
			r->gpr[i] = random() % 256;
			break;
		case 1:
			r->gpr[i] = -(xc_word)(random() % 70000);
			break;
		default:
			r->gpr[i] = rand64();
		}
	}
	for (i = 0; i < XC_ARENA; i++)
		image[i] = random();
	r->flags = 0x202 | (rand64() & ARITH_FLAGS) | (env->ac ? FLAG_AC : 0);
	r->gpr[BX] = mem;
	r->gpr[SP] = sp;
#ifdef __x86_64__
	r->gpr[R12] = random() % 8;
#endif
	if (c->needs & XN_FRAME)
		r->gpr[BP] = sp - sizeof(xc_word);
	if (c->needs & XN_COUNT)
		r->gpr[CX] = random() % 3;
	if (c->needs & XN_TARGET)
		r->gpr[AX] = (uintptr_t)c->after;
	if (c->needs & XN_STRING) {
		r->gpr[SI] = mem;
		r->gpr[DI] = mem + 0x10;
		r->gpr[CX] = 1 + random() % 3;
	}
	top = 0;
	if (c->needs & XN_RET)
		top = (uintptr_t)c->after;
	if (c->needs & XN_FLAGS)
		top = r->flags | (c->needs & XN_TF ? FLAG_TF : 0);
	if (top)
		memcpy(image + XC_STACK_OFF + env->stack_shift, &top, sizeof(top));
	xc_global = rand64();
}

int xc_prepare(const struct xc_case *c, unsigned int t, const struct xc_env *env,
	       struct xc_regs_buf *buf)
{
	uint8_t *page = env->arena + (size_t)(t % XC_TRIALS) * XC_ARENA;
	static uint8_t image[XC_ARENA];

	make_state(c, t % XC_TRIALS, env, page, (struct xc_regs *)buf->words, image);
	switch (env->kind) {
	case XA_PRIVATE:
		memcpy(page, image, XC_ARENA);
		break;
	case XA_FRESH_ANON:
		/* A page never touched: zero, and not in the page table. */
		if (mmap(page, XC_ARENA, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != page)
			return -1;
		break;
	case XA_FILE:
		/* The file's page, in the page cache but not in our page table. */
		if (pwrite(env->fd, image, XC_ARENA, (off_t)(t % XC_TRIALS) * XC_ARENA) !=
		    XC_ARENA || madvise(page, XC_ARENA, MADV_DONTNEED))
			return -1;
		break;
	case XA_KEEP:
		break;		/* filled before a fork, by xc_fill_all() */
	}
	return 0;
}

int xc_fill_all(const struct xc_case *c, const struct xc_env *env)
{
	struct xc_env priv = *env;
	struct xc_regs_buf buf;
	unsigned int t;

	priv.kind = XA_PRIVATE;
	for (t = 0; t < XC_TRIALS; t++)
		if (xc_prepare(c, t, &priv, &buf))
			return -1;
	return 0;
}

/*
 * Run trial @t of @c from the state in @buf: from the wrapper's start, or (64-bit,
 * @resume_at) from that address inside the wrapper, with @buf as the state there.
 */
static void run_trial(const struct xc_case *c, unsigned int t, const struct xc_env *env,
		      struct xc_regs_buf *buf, const void *resume_at, struct xc_result *out)
{
	uint8_t *page = env->arena + (size_t)(t % XC_TRIALS) * XC_ARENA;
	struct xc_regs *r = (struct xc_regs *)buf->words;
	int i;

	memset(out, 0, sizeof(*out));
	out->sp_before = r->gpr[SP];
	out->stack_at = (uintptr_t)page + XC_STACK_OFF - XC_DUMP;
	xc_cur = out;
	if (!sigsetjmp(xc_jmp, 1)) {
#ifdef __x86_64__
		if (resume_at)
			xc_resume(r, resume_at);
		else if (env->stop)
			xc_call_stopped(c->fn, r, getpid());
		else
#endif
			c->fn(r);
		for (i = 0; i < NR_GPR; i++)
			out->gpr[i] = r->gpr[i];
		out->flags = r->flags;
	}
	xc_cur = NULL;
	out->global = (xc_word)xc_global;
	memcpy(out->mem, page + XC_MEM_OFF - XC_DUMP, sizeof(out->mem));
	memcpy(out->stack, page + XC_STACK_OFF - XC_DUMP, sizeof(out->stack));
}

void xc_run(const struct xc_case *c, unsigned int t, const struct xc_env *env,
	    struct xc_regs_buf *buf, struct xc_result *out)
{
	run_trial(c, t, env, buf, NULL, out);
}

#ifdef __x86_64__
void xc_run_from(const struct xc_case *c, unsigned int t, const struct xc_env *env,
		 struct xc_regs_buf *buf, const void *ip, struct xc_result *out)
{
	run_trial(c, t, env, buf, ip, out);
}
#endif

/* Map everything that can be mapped: no room is left for an XOL area. */
unsigned long xc_fill_address_space(void)
{
	unsigned long size, total = 0;

	for (size = 1UL << (sizeof(long) == 8 ? 46 : 31); size >= 4096; size >>= 1)
		while (mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0) != MAP_FAILED)
			total += size;
	return total;
}
