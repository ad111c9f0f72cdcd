/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The engine's file list: the sender's walk of its arguments in upstream's
 * order (flist.c send_file_list(), send_directory(), make_file()), its
 * encoding through ocproto, the receiver's decoding, and the shared sort.
 *
 * Wire order matters: SAME_* flags and name prefixes refer to the previous
 * entry sent, so entries go out in the order upstream's walk visits them
 * (readdir order, each directory's entries before its subdirectories'),
 * and both sides then sort with upstream's f_name_cmp() order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "apps/engine/errcode.h"
#include "apps/engine/filesfrom.h"
#include "apps/engine/chmod.h"
#include "apps/engine/filter.h"
#include "apps/engine/fs.h"
#include "apps/engine/relpath.h"
#include "apps/engine/session.h"
#include "apps/engine/util.h"
#include "ocpool/ocpool.h"
#include "ocproto/err.h"

#define IDS_MAX 65536 /* distinct ids we accept in one list */

void
oce_flist_opts(const struct oce_session *s, struct ocp_flist_opts *fo)
{
	const struct oce_opts *o = s->o;

	memset(fo, 0, sizeof(*fo));
	fo->protocol = s->protocol;
	fo->compat = s->compat;
	fo->owner = o->owner;
	fo->group = o->group;
	fo->devices = o->devices;
	fo->specials = o->specials;
	fo->links = o->links;
	fo->hard_links = o->hard_links;
	fo->numeric_ids = o->numeric_ids;
	fo->csum_len = o->checksum ? s->csum_len : 0;
	fo->relative = o->relative;
}

/*
 * A daemon module without chroot keeps a received symlink's target inside
 * the module (upstream sanitize_path() with the link's directory depth):
 * leading slashes and "." parts go, ".." may climb only as many levels as
 * the link's own directory has, any other ".." is dropped with the part
 * before it. In place; the result is never longer.
 */
static void
sanitize_link(char *t, const char *name)
{
	int depth = 0;
	char *out = t, *start = t;
	const char *p = t;

	for (const char *q = name; (q = strchr(q, '/')); q++)
		depth++;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (*p) {
		if (*p == '/') {
			p++;
			continue;
		}
		if (p[0] == '.' && (p[1] == '/' || !p[1])) {
			p++;
			continue;
		}
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2])) {
			if (depth <= 0 || out != start) {
				p += 2;
				if (out != start) {
					for (--out; out > start && out[-1] != '/'; out--)
						;
				}
				continue;
			}
			depth--;
			start = out + 3;
		}
		while (*p && (*out++ = *p++) != '/')
			;
	}
	if (out == t)
		*out++ = '.';
	*out = '\0';
}

/*
 * The entries of a list are carved from blocks mapped with MAP_POPULATE:
 * a list of 10,000 files is 1.4 MB of entries, which malloc's heap would
 * fault in a page at a time (a trap each, on both sides of a transfer);
 * one call per block faults them together. Blocks double from 16 KiB to
 * 1 MiB, and go with the list.
 */
struct oce_fblock {
	struct oce_fblock *next;
	size_t size;
};

/* ---- a list published as it is walked (oce_flist_stream_start()) -------- */

/* The walk stays at most this many entries ahead of the generator's retire point. */
#define STREAM_AHEAD 8192
/* Room reserved (address space, not memory) for the list's pointers. */
#define STREAM_MAX ((size_t)1 << 28)
/* The blocks the entries other than directories live in, given back as they are retired. */
#define SBLOCK_SIZE (64u << 10)

struct sblock {
	struct sblock *next;
	size_t size;
	size_t last; /* (lock) its entries are all below this index; SIZE_MAX: not known yet */
	size_t pad;
};

struct oce_fstream {
	struct oce_session *s;
	int argc;
	char **argv;
	pthread_t thr;
	bool thr_up;
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* both sides wait on it: broadcast */
	size_t published;	/* (atomic; written by the walk) entries of fl->wire that are final */
	bool done;		/* (atomic) the walk has ended; result is set */
	bool cancel;		/* (atomic) the walk is to stop */
	size_t retired;		/* (lock) the generator is done with the entries below it */
	bool walk_held;		/* (lock) the walk waits for a retire */
	bool gen_waiting;	/* (lock) the generator waits for an entry */
	int result;
	/* walk's: the entries of the directories being read, one run per level */
	struct oce_file **pend;
	size_t npend, pend_cap;
	/* walk's, the generator's once done: the directories, in list order */
	struct oce_file **dirs;
	size_t ndirs, dirs_cap;
	/* the blocks of other entries: closed ones oldest first (lock), the open one (walk's) */
	struct sblock *head, *tail, *unmarked;
	struct sblock *cur;
	char *cur_next;
	size_t cur_left;
	/* walk's: what the skip marks need (oce_flist_map_ids()) */
	bool root;
	gid_t *groups;
	int ngroups;
};

/* An entry that is not a directory, in the open block (the walk's thread). */
static void *
sblock_alloc(struct oce_fstream *st, size_t len)
{
	void *p;

	len = (len + 15) & ~(size_t)15;
	if (len > st->cur_left) {
		size_t size = len + sizeof(struct sblock) > SBLOCK_SIZE ? len + sizeof(struct sblock)
									: SBLOCK_SIZE;
		struct sblock *b = mmap(NULL, size, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (b == MAP_FAILED)
			return NULL;
		b->next = NULL;
		b->size = size;
		b->last = SIZE_MAX;
		if (st->cur) {
			pthread_mutex_lock(&st->lock);
			if (st->tail)
				st->tail->next = st->cur;
			else
				st->head = st->cur;
			st->tail = st->cur;
			if (!st->unmarked)
				st->unmarked = st->cur;
			pthread_mutex_unlock(&st->lock);
		}
		st->cur = b;
		st->cur_next = (char *)(b + 1);
		st->cur_left = size - sizeof(*b);
	}
	p = st->cur_next; /* zeroed: fresh anonymous memory */
	st->cur_next += len;
	st->cur_left -= len;
	return p;
}

#define FBLOCK_MIN (16u << 10)
#define FBLOCK_MAX (1u << 20)

static void *
fblock_alloc(struct oce_flist *fl, size_t len, bool keep)
{
	void *p;

	if (fl->stream && !keep)
		return sblock_alloc(fl->stream, len);
	len = (len + 15) & ~(size_t)15;
	if (len > fl->blk_left) {
		struct oce_fblock *b, *prev = fl->blocks;
		size_t size = prev ? prev->size * 2 : FBLOCK_MIN;

		if (size > FBLOCK_MAX)
			size = FBLOCK_MAX;
		if (size < len + sizeof(*b))
			size = len + sizeof(*b);
		b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
			 -1, 0);
		if (b == MAP_FAILED)
			return NULL;
		b->next = prev;
		b->size = size;
		fl->blocks = b;
		fl->blk_next = (char *)(b + 1);
		fl->blk_left = size - sizeof(*b);
	}
	p = fl->blk_next; /* zeroed: fresh anonymous memory */
	fl->blk_next += len;
	fl->blk_left -= len;
	return p;
}

/* keep: a directory (a streamed list keeps those to the end) */
static struct oce_file *
file_new(struct oce_flist *fl, const char *name, const char *link, bool keep)
{
	size_t nl = strlen(name) + 1, ll = link ? strlen(link) + 1 : 0;
	struct oce_file *f = fblock_alloc(fl, sizeof(*f) + nl + ll, keep);
	const char *slash;

	if (!f)
		return NULL;
	f->name = (char *)(f + 1);
	memcpy(f->name, name, nl);
	/* what sorting needs, found once (names do not change) */
	f->name_len = (uint32_t)(nl - 1);
	slash = memrchr(name, '/', nl - 1);
	f->item_at = slash ? (uint32_t)(slash - name) + 1 : 0;
	if (link) {
		f->link = f->name + nl;
		memcpy(f->link, link, ll);
	}
	f->hlink_first = -1;
	return f;
}

/* Append f to the array *v of *n entries with room for *cap (first: the first room). */
static int
fvec_push(struct oce_file ***v, size_t *n, size_t *cap, size_t first, struct oce_file *f)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : first;
		struct oce_file **nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = f;
	return 0;
}

static int
flist_push(struct oce_flist *fl, struct oce_file *f)
{
	struct oce_fstream *st = fl->stream;

	/* streamed: published once its directory is read and sorted (stream_dir()) */
	if (st)
		return fvec_push(&st->pend, &st->npend, &st->pend_cap, 1024, f);
	f->wire_ndx = (int32_t)fl->n;
	return fvec_push(&fl->wire, &fl->n, &fl->cap, 1024, f);
}

static void stream_free(struct oce_flist *fl);

void
oce_flist_free(struct oce_flist *fl)
{
	if (fl->stream)
		stream_free(fl); /* (no sums: no -c) */
	/* (a walk over every entry, only when there can be sums: -c) */
	for (size_t i = 0; fl->sums && i < fl->n; i++)
		free(fl->wire[i]->sum);
	while (fl->blocks) {
		struct oce_fblock *b = fl->blocks;

		fl->blocks = b->next;
		munmap(b, b->size);
	}
	free(fl->wire);
	free(fl->v);
	free(fl->uids);
	free(fl->gids);
	memset(fl, 0, sizeof(*fl));
}

/* f's name as upstream's sort reads it (ocp_flist_key), from what file_new() found. */
static inline void
file_key(const struct oce_file *f, struct ocp_flist_key *k)
{
	k->s = (const unsigned char *)f->name;
	k->name_len = f->name_len;
	k->dir = S_ISDIR(f->mode);
	if (k->dir) {
		k->len = f->name_len == 1 && f->name[0] == '.' ? 0 : f->name_len + 1;
		k->item_at = k->len;
	} else {
		k->len = f->name_len;
		k->item_at = f->item_at;
	}
}

static inline int
file_cmp(const struct oce_file *a, const struct oce_file *b)
{
	struct ocp_flist_key x, y;

	file_key(a, &x);
	file_key(b, &y);
	return ocp_flist_key_cmp(&x, &y);
}

/* Merge the sorted runs a[0..na) and b[0..nb) into out, the first run winning ties. */
static void
merge_runs(struct oce_file **out, struct oce_file *const *a, size_t na, struct oce_file *const *b,
	   size_t nb)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na && j < nb)
		out[k++] = file_cmp(b[j], a[i]) < 0 ? b[j++] : a[i++];
	while (i < na)
		out[k++] = a[i++];
	while (j < nb)
		out[k++] = b[j++];
}

/*
 * A stable merge sort of the pointers v[0..n) that starts from the runs
 * already there: a strictly descending run is reversed (a directory read
 * newest first, as tmpfs gives it), runs that follow each other in order
 * are joined, then neighbouring runs are merged pass by pass between v
 * and tmp. Only pointers move, and the keys come from
 * the files, so the extra memory is n pointers.
 */
static int
natural_sort(struct oce_file **v, size_t n)
{
	struct oce_file **tmp, **src, **dst, **t;
	size_t *runs, nruns = 0;

	if (n < 2)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	runs = malloc((n + 1) * sizeof(*runs));
	if (!tmp || !runs) {
		free(tmp);
		free(runs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		runs[nruns++] = i;
		if (j < n && file_cmp(v[j], v[i]) < 0) {
			while (j + 1 < n && file_cmp(v[j + 1], v[j]) < 0)
				j++;
			for (size_t a = i, b = j; a < b; a++, b--) {
				struct oce_file *t = v[a];

				v[a] = v[b];
				v[b] = t;
			}
			j++;
		} else {
			while (j < n && file_cmp(v[j], v[j - 1]) >= 0)
				j++;
		}
		i = j;
	}
	runs[nruns] = n;
	/*
	 * Runs already in order end to end are one run: a tree read
	 * directory by directory, each newest first, is sorted once its runs
	 * are reversed, and needs no merge pass at all.
	 */
	{
		size_t out = 1;

		for (size_t r = 1; r < nruns; r++)
			if (file_cmp(v[runs[r]], v[runs[r] - 1]) < 0)
				runs[out++] = runs[r];
		runs[out] = n;
		nruns = out;
	}
	src = v;
	dst = tmp;
	while (nruns > 1) {
		size_t out = 0, r;

		for (r = 0; r + 1 < nruns; r += 2) {
			size_t a = runs[r], b = runs[r + 1], e = runs[r + 2];

			merge_runs(dst + a, src + a, b - a, src + b, e - b);
			runs[out++] = a;
		}
		if (r < nruns) {
			memcpy(dst + runs[r], src + runs[r], (n - runs[r]) * sizeof(*src));
			runs[out++] = runs[r];
		}
		runs[out] = n;
		nruns = out;
		t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	free(runs);
	return 0;
}

int
oce_files_sort(struct oce_file **v, size_t n)
{
	return natural_sort(v, n);
}

/*
 * An active non-directory in v[0..hi] (sorted) named like directory d, or
 * -1. A directory sorts as "name/", far from a file of the same name, so
 * adjacent names do not find this duplicate (a file d in one root, a
 * directory d in another).
 */
static long
find_nondir(struct oce_file *const *v, size_t hi, const struct oce_file *d)
{
	size_t a = 0, b = hi + 1, m = 0;
	bool found = false;

	while (a < b) {
		int c;

		m = a + (b - a) / 2;
		c = ocp_flist_name_cmp(d->name, d->name_len, false, v[m]->name, v[m]->name_len,
				       S_ISDIR(v[m]->mode));
		if (!c) {
			found = true;
			break;
		}
		if (c < 0)
			b = m;
		else
			a = m + 1;
	}
	if (!found)
		return -1;
	/* equal as files means a non-directory of that name; the kept one is active */
	for (size_t k = m + 1; k-- > 0;) {
		if (ocp_flist_name_cmp(d->name, d->name_len, false, v[k]->name, v[k]->name_len,
				       S_ISDIR(v[k]->mode)))
			break;
		if (!v[k]->removed)
			return (long)k;
	}
	for (size_t k = m + 1; k <= hi; k++) {
		if (ocp_flist_name_cmp(d->name, d->name_len, false, v[k]->name, v[k]->name_len,
				       S_ISDIR(v[k]->mode)))
			break;
		if (!v[k]->removed)
			return (long)k;
	}
	return -1;
}

/*
 * Sort into fl->v and mark duplicate names removed (a directory wins over a
 * non-directory, else the first one, which takes a removed directory's
 * flags); mirrors flist_sort_and_clean().
 */
static int
flist_sort(struct oce_flist *fl)
{
	size_t n = fl->n ? fl->n : 1;
	int r;

	free(fl->v);
	fl->v = malloc(n * sizeof(*fl->v));
	if (!fl->v)
		return -ENOMEM;
	if (fl->n) /* an empty list may have no wire array at all */
		memcpy(fl->v, fl->wire, fl->n * sizeof(*fl->v));
	r = natural_sort(fl->v, fl->n);
	if (r)
		return r;
	for (size_t i = 1, kept = 0; i < fl->n; i++) {
		struct oce_file *a = fl->v[kept], *b = fl->v[i];

		if (a->name_len != b->name_len || memcmp(a->name, b->name, a->name_len)) {
			long j = S_ISDIR(b->mode) ? find_nondir(fl->v, kept, b) : -1;

			/* the directory wins over the file met earlier */
			if (j >= 0)
				fl->v[j]->removed = true;
			kept = i;
		} else if (S_ISDIR(b->mode) && !S_ISDIR(a->mode)) {
			a->removed = true;
			kept = i;
		} else {
			b->removed = true;
			if (S_ISDIR(a->mode) && S_ISDIR(b->mode)) {
				/* The kept directory takes the duty of both (a -R parent
				 * also named on its own is no longer only implied). */
				a->top_dir |= b->top_dir;
				a->no_content_dir &= b->no_content_dir;
				a->implied &= b->implied;
			}
		}
	}
	return 0;
}

/*
 * A name in several roots is in the list several times, all but one
 * removed (flist_sort()): of the entries equal to v[at], the one kept, or
 * at itself when all are removed.
 */
static int32_t
active_twin(const struct oce_flist *fl, size_t at, const char *name, size_t len, bool is_dir)
{
	for (size_t k = at + 1; k-- > 0;) {
		const struct oce_file *f = fl->v[k];

		if (ocp_flist_name_cmp(name, len, is_dir, f->name, strlen(f->name), S_ISDIR(f->mode)))
			break;
		if (!f->removed)
			return (int32_t)k;
	}
	for (size_t k = at + 1; k < fl->n; k++) {
		const struct oce_file *f = fl->v[k];

		if (ocp_flist_name_cmp(name, len, is_dir, f->name, strlen(f->name), S_ISDIR(f->mode)))
			break;
		if (!f->removed)
			return (int32_t)k;
	}
	return (int32_t)at;
}

int32_t
oce_flist_find(const struct oce_flist *fl, const char *name, bool is_dir)
{
	size_t lo = 0, hi = fl->n, len = strlen(name);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct oce_file *f = fl->v[mid];
		int c = ocp_flist_name_cmp(name, len, is_dir, f->name, strlen(f->name),
					   S_ISDIR(f->mode));

		if (!c)
			return active_twin(fl, mid, name, len, is_dir);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * "building file list ... done" and "receiving file list ... done": what
 * upstream's client prints with -v when the list is sent whole
 * (start_filelist_progress()).
 */
static bool
show_progress(const struct oce_session *s)
{
	return !s->am_server && !s->o->quiet && s->o->info[OCE_INFO_FLIST] >= 1;
}

/* "building file list ... ": the line stays open (upstream start_filelist_progress()). */
static void
flist_progress(struct oce_session *s, const char *text)
{
	pthread_mutex_lock(&s->log_lock);
	fputs(text, s->out);
	s->needs_nl = 1;
	fflush(s->out);
	pthread_mutex_unlock(&s->log_lock);
}

/* With --info=flist2 (--progress), " N files...\r" every 100 entries. */
static void
flist_count(struct oce_session *s, size_t count)
{
	if (!show_progress(s) || s->o->info[OCE_INFO_FLIST] < 2 || count % 100)
		return;
	pthread_mutex_lock(&s->log_lock);
	if (s->needs_nl == 1)
		fputc('\n', s->out);
	fprintf(s->out, " %zu files...\r", count);
	s->needs_nl = 2;
	fflush(s->out);
	pthread_mutex_unlock(&s->log_lock);
}

/* "done", or at flist2 the count over the progress line (finish_filelist_progress()). */
static void
flist_finish(struct oce_session *s)
{
	pthread_mutex_lock(&s->log_lock);
	s->needs_nl = 0;
	if (s->o->info[OCE_INFO_FLIST] >= 2)
		fprintf(s->out, "%zu file%sto consider\n", s->fl.n, s->fl.n == 1 ? " " : "s ");
	else
		fputs("done\n", s->out);
	fflush(s->out);
	pthread_mutex_unlock(&s->log_lock);
}

/* ---- sender: walking and sending -------------------------------------- */

struct idlist {
	struct ocp_idname *v;
	size_t n, cap;
};

struct hl_slot {
	uint64_t dev, ino;
	int32_t first;
	bool used;
};

struct walk {
	struct oce_session *s;
	struct ocp_flist_state fst;
	uint16_t root;
	int rootfd;
	dev_t fsdev;
	uint32_t last_uid, last_gid;
	bool have_last;
	struct idlist uids, gids;
	struct hl_slot *hl;
	size_t hl_cap, hl_n;
	const char *base;	 /* --files-from: the directory the names are in */
	int implied_dot;	 /* -R "./x": 0 not yet, -1 wanted, 1 "." sent (upstream implied_dot_dir) */
	char lastpath[PATH_MAX + 4]; /* parent path the last implied directories were sent for */
	struct ocp_fentry e;	 /* scratch, 2.6 KiB */
	uint8_t buf[8192];
};

static int
id_add(struct idlist *l, uint32_t id, bool user)
{
	char name[OCP_FLIST_IDNAME_MAX + 1] = "";

	if (id == 0)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return 0;
	oce_forkgate_enter();
	if (user) {
		struct passwd pw, *res = NULL;
		char b[4096];

		if (!getpwuid_r(id, &pw, b, sizeof(b), &res) && res)
			snprintf(name, sizeof(name), "%s", pw.pw_name);
	} else {
		struct group gr, *res = NULL;
		char b[4096];

		if (!getgrgid_r(id, &gr, b, sizeof(b), &res) && res)
			snprintf(name, sizeof(name), "%s", gr.gr_name);
	}
	oce_forkgate_leave();
	if (!*name)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ocp_idname *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].id = id;
	l->v[l->n].name_len = strlen(name);
	memcpy(l->v[l->n].name, name, l->v[l->n].name_len + 1);
	l->n++;
	return 0;
}

/* The group first seen with (dev, ino), or -1 after recording f as its first. */
static int32_t
hl_lookup(struct walk *w, uint64_t dev, uint64_t ino, int32_t ndx)
{
	size_t i;

	if (w->hl_n * 2 >= w->hl_cap) {
		size_t cap = w->hl_cap ? w->hl_cap * 2 : 1024;
		struct hl_slot *n = calloc(cap, sizeof(*n));

		if (!n)
			return -2;
		for (i = 0; i < w->hl_cap; i++) {
			if (!w->hl[i].used)
				continue;
			size_t j = (w->hl[i].ino * 0x9E3779B97F4A7C15ull ^ w->hl[i].dev) & (cap - 1);

			while (n[j].used)
				j = (j + 1) & (cap - 1);
			n[j] = w->hl[i];
		}
		free(w->hl);
		w->hl = n;
		w->hl_cap = cap;
	}
	i = (ino * 0x9E3779B97F4A7C15ull ^ dev) & (w->hl_cap - 1);
	while (w->hl[i].used) {
		if (w->hl[i].dev == dev && w->hl[i].ino == ino)
			return w->hl[i].first;
		i = (i + 1) & (w->hl_cap - 1);
	}
	w->hl[i] = (struct hl_slot){dev, ino, ndx, true};
	w->hl_n++;
	return -1;
}

static void
count_type(struct oce_counters *c, uint32_t mode)
{
	if (S_ISREG(mode))
		return;
	if (S_ISDIR(mode))
		c->num_dirs++;
	else if (S_ISLNK(mode))
		c->num_symlinks++;
	else if (S_ISCHR(mode) || S_ISBLK(mode))
		c->num_devices++;
	else
		c->num_specials++;
}

/* Add name (stat st, symlink target link) to the list and send it. */
static int
send_entry(struct walk *w, const char *name, const struct stat *st, const char *link, bool top,
	   bool content, struct oce_file **out)
{
	struct oce_session *s = w->s;
	const struct oce_opts *o = s->o;
	/* a link's length as it is on disk, munged or not (upstream's st_size) */
	size_t link_len = link ? strlen(link) : 0;
	struct oce_file *f;

	/* A daemon module's munged link goes out as it was sent in (upstream make_file()). */
	if (s->munge_links && link && strlen(link) > sizeof(OCE_MUNGE_PREFIX) - 1 &&
	    !strncmp(link, OCE_MUNGE_PREFIX, sizeof(OCE_MUNGE_PREFIX) - 1))
		link += sizeof(OCE_MUNGE_PREFIX) - 1;
	f = file_new(&s->fl, name, link, S_ISDIR(st->st_mode));
	struct ocp_fentry *e = &w->e;
	int r;

	if (!f)
		return -ENOMEM;
	f->mode = st->st_mode;
	/* a module's "outgoing chmod" changes the modes it sends (upstream send_file_name()) */
	if (s->dchmod && !S_ISLNK(f->mode) && f->mode)
		f->mode = oce_chmod_apply(s->dchmod, f->mode);
	/* Upstream make_file() keeps st_size for all but devices and specials. */
	f->size = S_ISLNK(st->st_mode)					      ? (int64_t)link_len
		  : S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) ? st->st_size
								      : 0;
	f->mtime = st->st_mtim.tv_sec;
	f->mtime_nsec = s->protocol >= 31 ? (uint32_t)st->st_mtim.tv_nsec : 0;
	f->uid = st->st_uid;
	f->gid = st->st_gid;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		f->rdev_major = major(st->st_rdev);
		f->rdev_minor = minor(st->st_rdev);
	}
	f->top_dir = top;
	f->no_content_dir = S_ISDIR(st->st_mode) && !content;
	f->root = w->root;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	if (!s->fl.stream) /* (progress: not with a streamed list) */
		flist_count(s, s->fl.n);
	r = flist_push(&s->fl, f);
	if (r)
		return r; /* f stays in the list's blocks, freed with it */
	if (o->hard_links && !S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		int32_t first = hl_lookup(w, st->st_dev, st->st_ino, f->wire_ndx);

		if (first == -2)
			return -ENOMEM;
		f->hlinked = true;
		f->hlink_first = first;
	}
	/* (a daemon's "numeric ids": the lists go out, empty) */
	if (o->owner && !o->numeric_ids && !s->ids_by_number && (!w->have_last || f->uid != w->last_uid))
		if (id_add(&w->uids, f->uid, true))
			return -ENOMEM;
	if (o->group && !o->numeric_ids && !s->ids_by_number && (!w->have_last || f->gid != w->last_gid))
		if (id_add(&w->gids, f->gid, false))
			return -ENOMEM;
	w->last_uid = f->uid;
	w->last_gid = f->gid;
	w->have_last = true;

	/* Every field up to sum is set below; the strings are emptied, not
	 * wiped (the entry is 2.6 KiB, and this runs once per file). */
	e->user[0] = e->group[0] = e->link[0] = '\0';
	e->user_len = e->group_len = e->link_len = 0;
	e->name_len = f->name_len;
	memcpy(e->name, name, e->name_len + 1);
	e->mode = f->mode;
	e->size = f->size;
	e->mtime = f->mtime;
	e->mtime_nsec = f->mtime_nsec;
	e->uid = f->uid;
	e->gid = f->gid;
	e->rdev_major = f->rdev_major;
	e->rdev_minor = f->rdev_minor;
	if (link) {
		e->link_len = strlen(link);
		memcpy(e->link, link, e->link_len + 1);
	}
	e->top_dir = top;
	e->no_content_dir = f->no_content_dir;
	e->hlinked = f->hlinked;
	e->hlink_first = f->hlink_first;
	if (o->checksum && S_ISREG(f->mode)) {
		f->sum = calloc(1, OCP_FLIST_SUM_MAX);
		s->fl.sums = true;
		if (!f->sum)
			return -ENOMEM;
		r = oce_file_checksum(s, w->rootfd, name, f->sum);
		if (r < 0)
			memset(f->sum, 0, OCP_FLIST_SUM_MAX);
		memcpy(e->sum, f->sum, OCP_FLIST_SUM_MAX);
	}
	r = ocp_flist_enc(&w->fst, w->buf, sizeof(w->buf), e);
	if (r < 0)
		return r;
	/* A local copy without the protocol only counts what it would have sent. */
	if (!s->io)
		s->st.total_written += r;
	else
		r = ocp_io_write_data(s->io, w->buf, (size_t)r);
	if (r < 0)
		return r;
	count_type(&s->st, f->mode);
	if (S_ISREG(f->mode) || S_ISLNK(f->mode))
		s->st.total_size += f->size;
	if (out)
		*out = f;
	return 0;
}

static void
walk_error(struct walk *w, int err, const char *what, const char *name)
{
	struct oce_session *s = w->s;

	char dir[PATH_MAX], full[PATH_MAX + 64];

	oce_sender_io_error(s, err == ENOENT ? OCE_IOERR_VANISHED : OCE_IOERR_GENERAL);
	/* named as upstream's full_fname() does: from the module root in a daemon, "(in MODULE)" */
	oce_full_fname(s, full, sizeof(full), oce_abs_dir(dir, sizeof(dir), NULL, s->roots[w->root]),
		       name);
	if (err == ENOENT && !strcmp(what, "open"))
		oce_warning(s, "file has vanished: %s", full);
	else if (!strcmp(what, "readlink_stat"))
		oce_rsyserr_xfer(s, err, "readlink_stat(%s) failed", full); /* upstream's words */
	else
		oce_rsyserr_xfer(s, err, "%s %s failed", what, full);
}

/*
 * Stat name below the root for the list: lstat, following the link for
 * -L, and for --copy-unsafe-links when the target leaves the tree.
 * Fills link (cap bytes) for symlinks kept as links. Returns 0 or -errno.
 * at_fd/at_name: where to look it up, the root and name, or the open
 * directory being read and the entry's own name (one path component for
 * the kernel to resolve instead of all of them).
 */
static int
walk_stat_pre(struct walk *w, int at_fd, const char *at_name, const char *name, struct stat *st,
	      char *link, size_t cap, bool follow, const struct stat *pre)
{
	const struct oce_opts *o = w->s->o;
	ssize_t n;

	if (pre)
		*st = *pre;
	else if (fstatat(at_fd, at_name, st, follow || o->copy_links ? 0 : AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!S_ISLNK(st->st_mode))
		return 0;
	n = readlinkat(at_fd, at_name, link, cap - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	if (o->copy_unsafe_links && oce_unsafe_symlink(link, name)) {
		if (fstatat(at_fd, at_name, st, 0))
			return -errno;
	}
	return 0;
}

static int
walk_stat_at(struct walk *w, int at_fd, const char *at_name, const char *name, struct stat *st,
	     char *link, size_t cap, bool follow)
{
	return walk_stat_pre(w, at_fd, at_name, name, st, link, cap, follow, NULL);
}

static int
walk_stat(struct walk *w, const char *name, struct stat *st, char *link, size_t cap, bool follow)
{
	return walk_stat_at(w, w->rootfd, name, name, st, link, cap, follow);
}

static int send_dir(struct walk *w, const char *dname, bool follow);

/* One directory entry (upstream send_file_name() via make_file()). */
static int
walk_entry(struct walk *w, int dfd, const char *leaf, const char *name, const struct stat *pre,
	   struct oce_file **out)
{
	struct oce_session *s = w->s;
	const struct oce_opts *o = s->o;
	struct stat st;
	char link[PATH_MAX];
	bool content = o->recursive;
	int r;

	*out = NULL;
	r = walk_stat_pre(w, dfd, leaf, name, &st, link, sizeof(link), false, pre);
	if (r) {
		struct stat lst;

		/* Upstream make_file(): an excluded name is no error, and a
		 * link followed into nothing is named as such (code 23), not
		 * as a vanished file (code 24). */
		if (oce_excluded(s, name, false) || oce_excluded(s, name, true))
			return 0;
		if (r == -ENOENT && (o->copy_links || o->copy_unsafe_links || o->copy_dirlinks) &&
		    !fstatat(w->rootfd, name, &lst, AT_SYMLINK_NOFOLLOW) && S_ISLNK(lst.st_mode)) {
			oce_sender_io_error(s, OCE_IOERR_GENERAL);
			oce_rerror(s, "symlink has no referent: \"%s/%s\"", s->roots[w->root],
					name);
		} else {
			walk_error(w, -r, r == -ENOENT ? "open" : "readlink_stat", name);
		}
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!o->recursive && !o->dirs)
			return 0;
		if (o->one_file_system && st.st_dev != w->fsdev) {
			if (o->one_file_system > 1)
				return 0;
			content = false;
		}
	}
	if (oce_excluded(s, name, S_ISDIR(st.st_mode)))
		return 0;
	/*
	 * Symlinks without -l and devices and specials without -D are listed
	 * too (without their link or device numbers), as rsync 3.5.0's sender
	 * does: a listing shows them, and the receiver says it skips them.
	 */
	return send_entry(w, name, &st, S_ISLNK(st.st_mode) ? link : NULL, false, content, out);
}

/* ---- the streamed list: the walk's side ---------------------------------- */

static bool in_our_groups(gid_t gid, const gid_t *groups, int ngroups);

/*
 * Make v[0..n) final as the next entries of the list, waiting first while
 * the walk is STREAM_AHEAD ahead of what the generator retired. compare:
 * they are a directory's entries other than directories, to be compared
 * with the destination (walk_dir_fn) before the generator can see them.
 */
static int
stream_publish(struct walk *w, struct oce_file *const *v, size_t n, bool compare)
{
	struct oce_session *s = w->s;
	struct oce_flist *fl = &s->fl;
	struct oce_fstream *st = fl->stream;
	size_t at = __atomic_load_n(&st->published, __ATOMIC_RELAXED); /* only this thread writes it */

	if (!n)
		return 0;
	pthread_mutex_lock(&st->lock);
	while (at - st->retired >= STREAM_AHEAD && !__atomic_load_n(&st->cancel, __ATOMIC_RELAXED)) {
		if (!st->walk_held) {
			st->walk_held = true;
			pthread_cond_broadcast(&st->cond); /* a generator waiting for entries retires */
		}
		pthread_cond_wait(&st->cond, &st->lock);
	}
	st->walk_held = false;
	pthread_mutex_unlock(&st->lock);
	if (__atomic_load_n(&st->cancel, __ATOMIC_RELAXED))
		return -ECANCELED;
	if (n > STREAM_MAX - at)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		struct oce_file *f = v[i];

		f->wire_ndx = (int32_t)(at + i);
		fl->wire[at + i] = f;
		/* the marks oce_flist_map_ids() gives a local copy: groups we are not in */
		if (s->o->group && !st->root)
			f->skip_group = !in_our_groups(f->gid, st->groups, st->ngroups);
		if (S_ISDIR(f->mode) && fvec_push(&st->dirs, &st->ndirs, &st->dirs_cap, 256, f))
			return -ENOMEM;
	}
	if (compare && s->walk_dir_fn)
		s->walk_dir_fn(s->walk_dir_arg, v, n);
	pthread_mutex_lock(&st->lock);
	__atomic_store_n(&st->published, at + n, __ATOMIC_RELEASE);
	/* every entry of a closed block is published by now (they are published as read) */
	for (struct sblock *b = st->unmarked; b; b = b->next)
		b->last = at + n;
	st->unmarked = NULL;
	if (st->gen_waiting)
		pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* The entries read outside a directory (the argument itself), as they are. */
static int
stream_flush(struct walk *w)
{
	struct oce_fstream *st = w->s->fl.stream;
	int r = stream_publish(w, st->pend, st->npend, false);

	st->npend = 0;
	return r;
}

/*
 * A directory read into pend[start..): sorted, its other entries published
 * together, then each subdirectory published and walked in turn, which is
 * the list's sorted order (a directory's files before its subdirectories,
 * each subdirectory followed by what it holds).
 */
static int
stream_dir(struct walk *w, size_t start)
{
	struct oce_fstream *st = w->s->fl.stream;
	size_t end = st->npend, k = start;
	int r = natural_sort(st->pend + start, end - start);

	while (!r && k < end && !S_ISDIR(st->pend[k]->mode))
		k++;
	if (!r && k > start)
		r = stream_publish(w, st->pend + start, k - start, true);
	for (; !r && k < end; k++) {
		struct oce_file *f = st->pend[k]; /* (pend moves as the walk below grows it) */

		r = stream_publish(w, &f, 1, false);
		if (!r && S_ISDIR(f->mode) && !f->no_content_dir && w->s->o->recursive)
			r = send_dir(w, f->name, false);
	}
	st->npend = start;
	return r;
}

/*
 * Send dname's entries, then recurse (-r). follow: dname was named by the
 * user and stat'ed through a symlink (a "dir/" or -k argument), so it is
 * opened as upstream's opendir() would, through that link.
 */
static int send_dir_in(struct walk *w, const char *dname, bool follow);

/* The directory's entries, under the per-directory rules read in it (upstream send_if_directory()). */
static int
send_dir(struct walk *w, const char *dname, bool follow)
{
	void *saved = oce_filter_push(w->s, w->s->roots[w->root], dname);
	int r = oce_filter_status(w->s);

	if (!r)
		r = send_dir_in(w, dname, follow);

	oce_filter_pop(w->s, saved);
	return r;
}

/* One entry of directory dname (open as fd) read by the walk; pre: its lstat taken already, or NULL. */
static int
scan_one(struct walk *w, int fd, const char *dname, bool dot, const char *leaf, const struct stat *pre)
{
	struct oce_session *s = w->s;
	char name[PATH_MAX];
	struct oce_file *f;

	if (oce_path_join(name, sizeof(name), dot ? NULL : dname, leaf)) {
		oce_sender_io_error(s, OCE_IOERR_GENERAL);
		oce_error(s, "filename overflows max-path len: %s/%s", dname, leaf);
		return 0;
	}
	return walk_entry(w, fd, leaf, name, pre, &f);
}

/* The lstats of a directory's entries from..n, taken on the pool (scan_split()). */
struct scan_job {
	int fd;
	char *names;
	const size_t *off;
	size_t from, n;
	struct stat *st;
	bool *ok;
	int done; /* (atomic) */
};

static int
scan_job_run(void *arg)
{
	struct scan_job *j = arg;

	for (size_t i = j->from; i < j->n; i++)
		j->ok[i] = !fstatat(j->fd, j->names + j->off[i], &j->st[i], AT_SYMLINK_NOFOLLOW);
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Below this many entries a directory is read on the walk's thread alone. */
#define SCAN_SPLIT_MIN 32

/*
 * The same as the plain readdir loop, with the lstats of the entries'
 * second half taken on s->walk_pool while this thread takes the first
 * half's: the names are read first, then each entry goes through
 * walk_entry() in readdir order as before, with its lstat at hand. An
 * lstat that failed here is simply taken again there.
 */
static int
scan_split(struct walk *w, DIR *d, int fd, const char *dname, bool dot)
{
	struct scan_job j = {.fd = fd};
	size_t n = 0, cap = 0, len = 0, lcap = 0, *off = NULL;
	struct dirent *de;
	bool queued = false;
	int r = 0;

	while ((errno = 0, de = readdir(d))) {
		size_t l = strlen(de->d_name) + 1;

		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (n == cap) {
			size_t *no = realloc(off, (cap = cap ? 2 * cap : 64) * sizeof(*off));

			if (!no)
				goto nomem;
			off = no;
		}
		if (len + l > lcap) {
			char *nn = realloc(j.names, lcap = 2 * (len + l) + 1024);

			if (!nn)
				goto nomem;
			j.names = nn;
		}
		memcpy(j.names + len, de->d_name, l);
		off[n++] = len;
		len += l;
	}
	j.off = off;
	j.n = n;
	if (n >= SCAN_SPLIT_MIN) {
		j.st = malloc(n * sizeof(*j.st));
		j.ok = malloc(n * sizeof(*j.ok));
		if (j.st && j.ok) {
			j.from = n / 2;
			queued = !ocpool_submit(w->s->walk_pool, scan_job_run, &j, NULL);
		}
	}
	for (size_t i = 0; i < n && !r; i++) {
		const struct stat *pre = NULL;

		if (queued && i == j.from)
			while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
				sched_yield();
		if (queued && i >= j.from && j.ok[i])
			pre = &j.st[i];
		r = scan_one(w, fd, dname, dot, j.names + off[i], pre);
	}
	if (queued)
		while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
			sched_yield();
	free(j.st);
	free(j.ok);
	free(j.names);
	free(off);
	return r;
nomem:
	free(j.names);
	free(off);
	return -ENOMEM;
}

static int stream_dir(struct walk *w, size_t start);

static int
send_dir_in(struct walk *w, const char *dname, bool follow)
{
	struct oce_session *s = w->s;
	size_t start = s->fl.stream ? s->fl.stream->npend : s->fl.n, end;
	bool dot = !strcmp(dname, ".");
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (oce_confine_fd(s) >= 0) {
		/*
		 * A daemon without chroot opens it beneath the module root, so
		 * that a followed link leading out of the module is "opendir
		 * ... failed: ELOOP", as in rsync 3.5.0 (fs.h).
		 */
		char path[PATH_MAX];

		if (snprintf(path, sizeof(path), "%s/%s", s->roots[w->root], dname) >=
		    (int)sizeof(path)) {
			fd = -ENAMETOOLONG;
		} else {
			fd = oce_open_confined(oce_confine_fd(s), path, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW));
			/* (openat2 says ENOTDIR for a symlink leaf with O_NOFOLLOW|O_DIRECTORY) */
			if ((fd == -ELOOP || fd == -ENOTDIR) &&
			    (s->o->copy_links || oce_follow_unsafe_link(s, w->rootfd, dname)))
				fd = oce_open_confined(oce_confine_fd(s), path, O_RDONLY | O_DIRECTORY);
		}
		errno = fd < 0 ? -fd : 0;
	} else {
		fd = openat(w->rootfd, dname,
			    O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW) | O_CLOEXEC);
		if (fd < 0 && errno == ELOOP &&
		    (s->o->copy_links || oce_follow_unsafe_link(s, w->rootfd, dname)))
			fd = openat(w->rootfd, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0 || !(d = fdopendir(fd))) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		walk_error(w, e, "opendir", dname);
		return 0;
	}
	/* (a streamed walk has its own thread: the pool is the copies') */
	if (s->walk_pool && !s->o->copy_links && !s->walk_dir_fn && !s->fl.stream) {
		r = scan_split(w, d, fd, dname, dot);
		goto scanned;
	}
	while (!r && (errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		r = scan_one(w, fd, dname, dot, de->d_name, NULL);
	}
scanned:
	closedir(d);
	if (s->fl.stream) {
		if (r)
			s->fl.stream->npend = start;
		return r ? r : stream_dir(w, start);
	}
	if (!r && s->walk_dir_fn && s->fl.n > start)
		s->walk_dir_fn(s->walk_dir_arg, s->fl.wire + start, s->fl.n - start);
	if (r || !s->o->recursive)
		return r;
	end = s->fl.n;
	for (size_t i = start; i < end && !r; i++) {
		struct oce_file *f = s->fl.wire[i];

		if (S_ISDIR(f->mode) && !f->no_content_dir)
			r = send_dir(w, f->name, false);
	}
	return r;
}

static int
open_root(struct oce_session *s, const char *dir, uint16_t *idx)
{
	const char *d = dir ? dir : ".";
	char **nr;
	int *nf;
	int fd;

	for (size_t i = 0; i < s->nroots; i++) {
		if (!strcmp(s->roots[i], d)) {
			*idx = (uint16_t)i;
			return 0;
		}
	}
	if (s->nroots >= UINT16_MAX)
		return -E2BIG;
	/* beneath the module root in a daemon session without chroot (fs.h) */
	fd = oce_open_confined(oce_confine_fd(s), d, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	nr = realloc(s->roots, (s->nroots + 1) * sizeof(*nr));
	if (nr)
		s->roots = nr;
	nf = realloc(s->root_fds, (s->nroots + 1) * sizeof(*nf));
	if (nf)
		s->root_fds = nf;
	if (!nr || !nf || !(s->roots[s->nroots] = strdup(d))) {
		close(fd);
		return -ENOMEM;
	}
	s->root_fds[s->nroots] = fd;
	*idx = (uint16_t)s->nroots++;
	return 0;
}

/*
 * One parent of a -R name, or the "." a leading "./" implies: sent with
 * TOP_DIR and NO_CONTENT_DIR (upstream FLAG_IMPLIED_DIR) so the receiver
 * gets its attributes without its contents. Parents are not filtered and
 * follow symlinks (upstream send_implied_dirs() forces copy_links); the
 * "." goes through the filters and the -d rule like any name.
 */
static int
implied_entry(struct walk *w, const char *name, bool filtered)
{
	struct oce_session *s = w->s;
	struct stat st;
	char link[PATH_MAX];
	int r = walk_stat(w, name, &st, link, sizeof(link), !filtered);
	bool dir;

	if (r) {
		walk_error(w, -r, "readlink_stat", name);
		return 0;
	}
	dir = S_ISDIR(st.st_mode);
	if (filtered) {
		if (dir && !s->o->dirs) {
			oce_info(s, "skipping directory %s", name);
			return 0;
		}
		if (oce_excluded(s, name, dir))
			return 0;
	}
	return send_entry(w, name, &st, S_ISLNK(st.st_mode) ? link : NULL, dir, false, NULL);
}

/*
 * The parents of fname (fname up to limit, a '/' in it), except those the
 * previous call already sent: only the leading directories in common with
 * the last parent path are skipped, as upstream's send_implied_dirs()
 * does, so a parent may go out twice (the sort drops the copy).
 */
static int
send_implied(struct walk *w, char *fname, char *limit)
{
	char *start = fname, *slash;
	const char *lp = w->lastpath;
	int r = 0;

	for (char *tp = fname;; tp++, lp++) {
		if (tp == limit) {
			if (*lp == '/' || !*lp)
				return 0;
			break;
		}
		if (*lp != *tp)
			break;
		if (*tp == '/')
			start = tp;
	}
	*limit = '\0';
	/* Each parent's per-directory merge files apply below it (upstream send_implied_dirs()). */
	for (slash = start; !r && (slash = strchr(slash + 1, '/')) != NULL;) {
		*slash = '\0';
		r = implied_entry(w, fname, false);
		oce_filter_chdir(w->s, w->s->roots[w->root], fname, oce_filter_depth(fname));
		if (!r)
			r = oce_filter_status(w->s);
		*slash = '/';
	}
	if (!r)
		r = implied_entry(w, fname, false);
	oce_filter_chdir(w->s, w->s->roots[w->root], fname, oce_filter_depth(fname));
	if (!r)
		r = oce_filter_status(w->s);
	snprintf(w->lastpath, sizeof(w->lastpath), "%s", fname);
	*limit = '/';
	return r;
}

/* dir below the --files-from source directory, into buf. */
static const char *
ff_dir(const struct walk *w, const char *dir, char *buf, size_t cap)
{
	if (!w->base)
		return dir;
	if (oce_path_join(buf, cap, w->base, dir))
		return NULL;
	return buf;
}

/* One argument or --files-from name, split as upstream's send_file_list() does. */
static int
walk_arg(struct walk *w, const char *arg)
{
	struct oce_session *s = w->s;
	const struct oce_opts *o = s->o;
	char fbuf[PATH_MAX + 4], dbuf[PATH_MAX], cdir[PATH_MAX], link[PATH_MAX], *fn = fbuf, *p;
	const char *dir;
	struct oce_arg_split a;
	size_t len = strlen(arg);
	struct stat st;
	int r;

	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(fbuf, arg, len + 1);
	r = oce_split_arg(fbuf, sizeof(fbuf), o->relative, &a);
	if (r == -EINVAL) {
		oce_rerror(s, "found \"..\" dir in relative path: %s", a.fn);
		s->exit_code = RERR_SYNTAX;
	}
	if (r)
		return r;
	if (a.dot_prefix && !w->implied_dot)
		w->implied_dot = -1;
	dir = ff_dir(w, a.dir, dbuf, sizeof(dbuf));
	/* A directory the module excludes is not there (upstream change_pathname()). */
	oce_filter_daemon_dir(s, ".");
	if (dir && oce_filter_daemon_path(s, dir, false))
		r = -ENOENT;
	else
		r = dir || !a.dir ? open_root(s, dir, &w->root) : -ENAMETOOLONG;
	if (r) {
		oce_sender_io_error(s, OCE_IOERR_GENERAL);
		oce_rsyserr_xfer(s, -r, "change_dir %s failed",
			    oce_full_fname(s, link, sizeof(link), NULL, dir ? dir : "."));
		if (w->implied_dot < 0)
			w->implied_dot = 0;
		return 0;
	}
	w->rootfd = s->root_fds[w->root];
	oce_filter_daemon_dir(s, dir);
	/* Upstream names a failed name from the directory it changed into (its curr_dir). */
	oce_abs_dir(cdir, sizeof(cdir), NULL, dir);
	if (w->implied_dot < 0) {
		w->implied_dot = 1;
		r = implied_entry(w, ".", true);
		if (r)
			return r;
	}
	/* The name to send, moved to the front of fbuf where it may be cut at slashes. */
	memmove(fbuf, a.fn, strlen(a.fn) + 1);
	r = walk_stat(w, fn, &st, link, sizeof(link), o->copy_dirlinks || a.type != OCE_NAME_NORMAL);
	/* A name the module excludes, or one below a directory it excludes, is not there. */
	if (!r && ((a.type != OCE_NAME_DOTDIR &&
		    oce_filter_daemon_check(s, fn, S_ISDIR(st.st_mode)) < 0) ||
		   (o->relative && oce_filter_daemon_path(s, fn, true))))
		r = -ENOENT;
	if (r) {
		oce_sender_io_error(s, -r == ENOENT ? OCE_IOERR_VANISHED : OCE_IOERR_GENERAL);
		if (-r == ENOENT)
			oce_sender_io_error(s, OCE_IOERR_GENERAL);
		oce_rsyserr_xfer(s, -r, "link_stat %s failed",
			    oce_full_fname(s, link, sizeof(link), cdir, fn));
		return 0;
	}
	if (a.type != OCE_NAME_DOTDIR && oce_excluded(s, fn, S_ISDIR(st.st_mode)))
		return 0;
	if (S_ISDIR(st.st_mode) && !o->dirs) {
		oce_info(s, "skipping directory %s", fn);
		return 0;
	}
	/* Parents first, so the receiver can give them their attributes. */
	if (o->relative && (p = strrchr(fn, '/')) != NULL && p != fn) {
		r = send_implied(w, fn, p);
		if (r)
			return r;
	}
	w->fsdev = st.st_dev;
	if (S_ISLNK(st.st_mode) && !o->links) {
		oce_info(s, "skipping non-regular file \"%s\"", fn);
		return 0;
	}
	if (o->recursive || (o->dirs && a.type != OCE_NAME_NORMAL)) {
		r = send_entry(w, fn, &st, S_ISLNK(st.st_mode) ? link : NULL, true, true, NULL);
		if (!r && s->fl.stream)
			r = stream_flush(w);
		if (!r && S_ISDIR(st.st_mode))
			r = send_dir(w, fn, o->copy_dirlinks || a.type != OCE_NAME_NORMAL);
		return r;
	}
	return send_entry(w, fn, &st, S_ISLNK(st.st_mode) ? link : NULL, false,
			  S_ISDIR(st.st_mode) ? false : true, NULL);
}

/*
 * The --files-from names, relative to the first argument (upstream
 * send_file_list() changes into it first), each sanitised: no way above it.
 */
static int
walk_files_from(struct walk *w, int argc, char **argv)
{
	struct oce_session *s = w->s;
	struct oce_ff_reader *rd = malloc(sizeof(*rd));
	char name[PATH_MAX];
	struct stat st;
	int r = 0, n;

	if (!rd)
		return -ENOMEM;
	if (s->ff_from_peer && s->protocol < 31) {
		/* Protocol 30 sends the names outside the multiplexed stream. */
		oce_error(s, "--files-from with a list on the receiving side needs protocol 31 or later");
		s->exit_code = RERR_UNSUPPORTED;
		free(rd);
		return -ENOTSUP;
	}
	w->base = argc > 0 ? argv[0] : NULL;
	if (w->base) {
		int e = stat(w->base, &st) ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;

		if (e) {
			oce_error(s, "[sender] change_dir \"%s\" failed: %s (%d)", w->base, strerror(e), e);
			s->exit_code = RERR_FILESELECT;
			free(rd);
			return -e;
		}
	}
	oce_ff_reader_init(rd, s);
	while (!r && (n = oce_ff_read_name(rd, name, sizeof(name))) != 0) {
		if (n < 0) {
			r = n;
			break;
		}
		oce_sanitize_path(name, s->o->relative);
		r = walk_arg(w, name);
	}
	free(rd);
	return r;
}

int
oce_flist_send(struct oce_session *s, int argc, char **argv)
{
	struct ocp_flist_opts fo;
	struct walk *w = calloc(1, sizeof(*w));
	uint64_t start_out = s->io ? s->io->bytes_out : 0;
	int64_t t0 = oce_now_ms(), t1;
	int32_t io_err;
	int r = 0, n;

	if (!w)
		return -ENOMEM;
	w->s = s;
	oce_flist_opts(s, &fo);
	ocp_flist_init(&w->fst, &fo);
	if (show_progress(s) && s->local_inc) {
		flist_progress(s, "sending incremental file list\n");
		s->needs_nl = 0; /* a whole line */
	} else if (show_progress(s))
		flist_progress(s, "building file list ... ");
	if (s->ff_fd >= 0 || s->ff_from_peer)
		r = walk_files_from(w, argc, argv);
	else
		for (int i = 0; i < argc && !r; i++)
			r = walk_arg(w, argv[i]);
	if (!r && s->fl.stream)
		r = stream_flush(w);
	oce_filter_chdir(s, NULL, NULL, 0); /* the -R parents' per-directory rules */
	t1 = oce_now_ms();
	s->st.flist_buildtime = t1 - t0 ? t1 - t0 : 1;
	if (!r) {
		n = ocp_flist_enc_end(&w->fst, w->buf, sizeof(w->buf),
				      (s->compat & OCP_CF_SAFE_FLIST)
					  ? __atomic_load_n(&s->io_error, __ATOMIC_RELAXED) : 0);
		r = n < 0 ? n : !s->io ? 0 : ocp_io_write_data(s->io, w->buf, (size_t)n);
	}
	if (!r && !s->fl.stream)
		r = flist_sort(&s->fl);
	if (!r && show_progress(s) && !s->local_inc)
		flist_finish(s);
	if (!r && !s->o->numeric_ids && s->io) {
		bool id0 = s->compat & OCP_CF_ID0_NAMES;
		struct idlist *lists[2] = {s->o->owner ? &w->uids : NULL,
					   s->o->group ? &w->gids : NULL};

		for (int i = 0; i < 2 && !r; i++) {
			uint8_t *buf;
			size_t cap;

			if (!lists[i])
				continue;
			cap = 16 + lists[i]->n * (8 + OCP_FLIST_IDNAME_MAX);
			buf = malloc(cap);
			if (!buf) {
				r = -ENOMEM;
				break;
			}
			n = ocp_flist_enc_idlist(buf, cap, lists[i]->v, lists[i]->n, id0,
						 i == 0 ? "root" : "root");
			r = n < 0 ? n : ocp_io_write_data(s->io, buf, (size_t)n);
			free(buf);
		}
	}
	/* (other threads may add bits: a streamed local walk runs beside the generator) */
	io_err = __atomic_load_n(&s->io_error, __ATOMIC_RELAXED);
	if (!r && s->io && io_err && !(s->compat & OCP_CF_SAFE_FLIST))
		r = ocp_io_write_msg(s->io, OCP_MSG_IO_ERROR, (uint8_t[]){(uint8_t)io_err, 0, 0, 0}, 4);
	s->st.flist_size = s->io ? (int64_t)(s->io->bytes_out - start_out) : 0;
	s->st.num_files = s->fl.stream ? (int64_t)oce_flist_stream_avail(&s->fl) : (int64_t)s->fl.n;
	s->st.flist_xfertime = oce_now_ms() - t1;
	free(w->uids.v);
	free(w->gids.v);
	free(w->hl);
	free(w);
	return r;
}

/* ---- receiver ------------------------------------------------------------ */

struct recv_ctx {
	struct oce_session *s;
	struct ocp_flist_state fst;
	struct ocp_fentry e, hl; /* decoded entry; a group's first for lookups */
	struct ocp_idname *ids;
	size_t nids;
	bool id0;
};

static int
dec_entry(void *ctx, const uint8_t *buf, size_t len)
{
	struct recv_ctx *c = ctx;

	return ocp_flist_dec(&c->fst, buf, len, NULL, &c->e);
}

static const struct ocp_fentry *
hl_first(void *arg, int32_t wire_ndx)
{
	struct recv_ctx *c = arg;
	struct oce_file *f;

	if (wire_ndx < 0 || (size_t)wire_ndx >= c->s->fl.n)
		return NULL;
	f = c->s->fl.wire[wire_ndx];
	memset(&c->hl, 0, sizeof(c->hl));
	c->hl.mode = f->mode;
	c->hl.size = f->size;
	c->hl.mtime = f->mtime;
	c->hl.mtime_nsec = f->mtime_nsec;
	c->hl.uid = f->uid;
	c->hl.gid = f->gid;
	c->hl.rdev_major = f->rdev_major;
	c->hl.rdev_minor = f->rdev_minor;
	c->hl.hlinked = f->hlinked;
	if (f->link) {
		c->hl.link_len = strlen(f->link);
		memcpy(c->hl.link, f->link, c->hl.link_len + 1);
	}
	if (f->sum)
		memcpy(c->hl.sum, f->sum, OCP_FLIST_SUM_MAX);
	return &c->hl;
}

static int
dec_ids(void *ctx, const uint8_t *buf, size_t len)
{
	struct recv_ctx *c = ctx;

	return ocp_flist_dec_idlist(buf, len, c->id0, c->ids, IDS_MAX, &c->nids);
}

/*
 * One of the sender's ids as ours (upstream recv_add_id()): an id that
 * came with a name takes the id that name has here, if it has one; id 0
 * and unnamed ids stay as they are.
 */
static uint32_t
local_id(const struct ocp_idname *v, size_t n, uint32_t id, bool user)
{
	char buf[4096];

	if (!id)
		return id;
	for (size_t i = 0; i < n; i++) {
		if (v[i].id != id || !v[i].name_len)
			continue;
		oce_forkgate_enter();
		if (user) {
			struct passwd pw, *res = NULL;

			if (!getpwnam_r(v[i].name, &pw, buf, sizeof(buf), &res) && res)
				id = res->pw_uid;
		} else {
			struct group gr, *res = NULL;

			if (!getgrnam_r(v[i].name, &gr, buf, sizeof(buf), &res) && res)
				id = res->gr_gid;
		}
		oce_forkgate_leave();
		break;
	}
	return id;
}

static bool
in_our_groups(gid_t gid, const gid_t *groups, int ngroups)
{
	if (gid == getegid())
		return true;
	for (int i = 0; i < ngroups; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/*
 * The received list's owners and groups as they are to be set here: by
 * name unless --numeric-ids (the id lists), and, for a receiver that is
 * not root, groups it is no member of are left alone (upstream
 * match_uid()/match_gid() and FLAG_SKIP_GROUP). Each distinct id is
 * looked up once.
 */
bool
oce_flist_map_ids(struct oce_session *s)
{
	bool changed = false;
	const struct oce_opts *o = s->o;
	struct oce_flist *fl = &s->fl;
	uint32_t from[2] = {0, 0}, to[2] = {0, 0};
	bool have[2] = {false, false};
	bool root = geteuid() == 0; /* s->am_root is set once the receiver starts */
	int ngroups = root ? 0 : getgroups(0, NULL);
	gid_t *groups = ngroups > 0 ? calloc((size_t)ngroups, sizeof(*groups)) : NULL;

	if (ngroups > 0 && (!groups || (ngroups = getgroups(ngroups, groups)) < 0))
		ngroups = 0;
	for (size_t i = 0; i < fl->n; i++) {
		struct oce_file *f = fl->v[i];

		if (o->owner && root && fl->nuids) {
			if (!have[0] || f->uid != from[0]) {
				from[0] = f->uid;
				to[0] = local_id(fl->uids, fl->nuids, f->uid, true);
				have[0] = true;
			}
			changed |= f->uid != to[0];
			f->uid = to[0];
		}
		if (o->group) {
			if (!have[1] || f->gid != from[1]) {
				from[1] = f->gid;
				to[1] = fl->ngids ? local_id(fl->gids, fl->ngids, f->gid, false) : f->gid;
				have[1] = true;
			}
			changed |= f->gid != to[1];
			f->gid = to[1];
			f->skip_group = !root && !in_our_groups(f->gid, groups, ngroups);
		}
	}
	free(groups);
	return changed;
}

int
oce_flist_recv(struct oce_session *s)
{
	struct ocp_flist_opts fo;
	struct recv_ctx *c = calloc(1, sizeof(*c));
	uint8_t *scratch = malloc(64 * 1024);
	uint64_t start_in = s->io->bytes_in;
	int r = 0;

	if (!c || !scratch) {
		free(c);
		free(scratch);
		return -ENOMEM;
	}
	c->s = s;
	oce_flist_opts(s, &fo);
	ocp_flist_init(&c->fst, &fo);
	c->fst.lookup = hl_first;
	c->fst.lookup_arg = c;
	if (show_progress(s))
		flist_progress(s, "receiving file list ... ");
	for (;;) {
		struct oce_file *f;

		r = oce_io_decode(s->io, dec_entry, c, scratch, 64 * 1024);
		if (r || ocp_flist_done(&c->fst))
			break;
		if (s->munge_links && S_ISLNK(c->e.mode) && c->e.link[0]) {
			/* upstream receive_file_entry(): the target can point nowhere outside */
			size_t ll = strlen(c->e.link), pl = sizeof(OCE_MUNGE_PREFIX) - 1;

			if (ll + pl > OCP_FLIST_LINK_MAX) {
				r = OCP_EFLIST;
				break;
			}
			memmove(c->e.link + pl, c->e.link, ll + 1);
			memcpy(c->e.link, OCE_MUNGE_PREFIX, pl);
		} else if (s->sanitize_links && S_ISLNK(c->e.mode) && c->e.link[0]) {
			sanitize_link(c->e.link, c->e.name);
		}
		f = file_new(&s->fl, c->e.name, S_ISLNK(c->e.mode) ? c->e.link : NULL, true);
		if (!f) {
			r = -ENOMEM;
			break;
		}
		f->mode = c->e.mode;
		/* "incoming chmod": the modes received (upstream receive_file_entry()) */
		if (s->dchmod && !S_ISLNK(f->mode) && f->mode)
			f->mode = oce_chmod_apply(s->dchmod, f->mode);
		f->size = c->e.size;
		f->mtime = c->e.mtime;
		f->mtime_nsec = c->e.mtime_nsec;
		f->uid = c->e.uid;
		f->gid = c->e.gid;
		f->rdev_major = c->e.rdev_major;
		f->rdev_minor = c->e.rdev_minor;
		/* TOP_DIR with NO_CONTENT_DIR marks a -R parent (upstream FLAG_IMPLIED_DIR). */
		f->implied = S_ISDIR(f->mode) && c->e.top_dir && c->e.no_content_dir;
		f->top_dir = c->e.top_dir && !f->implied;
		f->no_content_dir = c->e.no_content_dir;
		f->hlinked = c->e.hlinked;
		f->hlink_first = c->e.hlink_first;
		if (fo.csum_len && S_ISREG(f->mode)) {
			f->sum = malloc(OCP_FLIST_SUM_MAX);
			s->fl.sums = true;
			if (!f->sum) {
				r = -ENOMEM;
				break;
			}
			memcpy(f->sum, c->e.sum, OCP_FLIST_SUM_MAX);
		}
		r = flist_push(&s->fl, f);
		if (r) {
			free(f->sum);
			break;
		}
		if (!s->fl.stream) /* (progress: not with a streamed list) */
		flist_count(s, s->fl.n);
		count_type(&s->st, f->mode);
		if (S_ISREG(f->mode) || S_ISLNK(f->mode))
			s->st.total_size += f->size;
	}
	if (!r) {
		oce_sender_io_error(s, ocp_flist_io_error(&c->fst));
		r = flist_sort(&s->fl);
	}
	/* -R names may be absolute: they land below the destination, once sorted. */
	for (size_t i = 0; !r && s->o->relative && i < s->fl.n; i++)
		while (s->fl.v[i]->name[0] == '/')
			s->fl.v[i]->name++;
	if (!r && show_progress(s))
		flist_finish(s);
	if (!r && !s->o->numeric_ids) {
		c->id0 = s->compat & OCP_CF_ID0_NAMES;
		for (int i = 0; i < 2 && !r; i++) {
			bool want = i == 0 ? s->o->owner : s->o->group;

			if (!want)
				continue;
			c->ids = calloc(IDS_MAX, sizeof(*c->ids));
			if (!c->ids) {
				r = -ENOMEM;
				break;
			}
			c->nids = 0;
			r = oce_io_decode(s->io, dec_ids, c, scratch, 64 * 1024);
			if (!r) {
				struct ocp_idname *v = realloc(c->ids, (c->nids ? c->nids : 1) * sizeof(*v));

				if (v)
					c->ids = v;
				/* a daemon's "numeric ids": read, and the names let go */
				if (s->ids_by_number)
					c->nids = 0;
				if (i == 0) {
					s->fl.uids = c->ids;
					s->fl.nuids = c->nids;
				} else {
					s->fl.gids = c->ids;
					s->fl.ngids = c->nids;
				}
			} else {
				free(c->ids);
			}
			c->ids = NULL;
		}
	}
	if (!r)
		oce_flist_map_ids(s);
	s->st.flist_size = (int64_t)(s->io->bytes_in - start_in);
	s->st.num_files = (int64_t)s->fl.n;
	if (r == OCP_EUNSAFE) {
		/* upstream recv_file_entry(): RERR_UNSUPPORTED, not a protocol error */
		oce_rerror(s, "ABORTING due to unsafe pathname from sender: %s", c->e.name);
		s->exit_code = RERR_UNSUPPORTED;
	} else if (r == OCP_EFLIST && c->fst.bad_type) {
		oce_rerror(s, "invalid file mode 0%o for %s [%s]", (unsigned)c->fst.bad_mode,
			   c->fst.lastname, oce_who(s));
		s->exit_code = RERR_PROTOCOL;
	} else if (r && ocp_is_proto_err(r) && r != OCP_ECLOSED && r != OCP_EMSGCODE &&
		   !(r == OCP_ETOOLONG && s->io && ocp_demux_overflowed(&s->io->dmx, &(size_t){0}))) {
		/* A bad multiplex header is the stream's fault: the caller's to report. */
		oce_error(s, "received a bad file list: %s", ocp_strerror(r));
		s->exit_code = r == OCP_EMSGLEN || r == OCP_EMSGCODE ? RERR_STREAMIO : RERR_PROTOCOL;
	}
	free(scratch);
	free(c);
	return r;
}

/* ---- the streamed list: starting, waiting, retiring ---------------------- */

static void *
stream_main(void *arg)
{
	struct oce_fstream *st = arg;
	int r;

	oce_set_role("sender");
	r = oce_flist_send(st->s, st->argc, st->argv);
	pthread_mutex_lock(&st->lock);
	st->result = r;
	__atomic_store_n(&st->done, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

int
oce_flist_stream_start(struct oce_session *s, int argc, char **argv)
{
	struct oce_flist *fl = &s->fl;
	struct oce_fstream *st = calloc(1, sizeof(*st));
	void *wire;
	int r;

	if (!st)
		return -ENOMEM;
	/* address space for every pointer the list may hold; pages are taken as touched */
	wire = mmap(NULL, STREAM_MAX * sizeof(*fl->wire), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (wire == MAP_FAILED) {
		free(st);
		return -ENOMEM;
	}
	st->s = s;
	st->argc = argc;
	st->argv = argv;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	st->root = geteuid() == 0;
	st->ngroups = st->root ? 0 : getgroups(0, NULL);
	if (st->ngroups > 0 && (!(st->groups = calloc((size_t)st->ngroups, sizeof(*st->groups))) ||
				(st->ngroups = getgroups(st->ngroups, st->groups)) < 0))
		st->ngroups = 0;
	fl->wire = fl->v = wire;
	fl->cap = STREAM_MAX;
	fl->stream = st;
	r = -pthread_create(&st->thr, NULL, stream_main, st);
	if (r)
		return r; /* the list is freed with the session */
	st->thr_up = true;
	return 0;
}

size_t
oce_flist_stream_avail(const struct oce_flist *fl)
{
	return __atomic_load_n(&fl->stream->published, __ATOMIC_ACQUIRE);
}

int
oce_flist_stream_wait(struct oce_flist *fl, size_t i)
{
	struct oce_fstream *st = fl->stream;
	int r;

	if (i < oce_flist_stream_avail(fl))
		return 1;
	pthread_mutex_lock(&st->lock);
	for (;;) {
		if (i < oce_flist_stream_avail(fl)) {
			r = 1;
			break;
		}
		if (__atomic_load_n(&st->done, __ATOMIC_ACQUIRE)) {
			r = i < oce_flist_stream_avail(fl);
			break;
		}
		if (st->walk_held) {
			r = -1;
			break;
		}
		st->gen_waiting = true;
		pthread_cond_wait(&st->cond, &st->lock);
		st->gen_waiting = false;
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

void
oce_flist_stream_retire(struct oce_flist *fl, size_t upto)
{
	struct oce_fstream *st = fl->stream;

	pthread_mutex_lock(&st->lock);
	if (upto > st->retired)
		st->retired = upto;
	while (st->head && st->head->last != SIZE_MAX && st->head->last <= st->retired) {
		struct sblock *b = st->head;

		st->head = b->next;
		if (!st->head)
			st->tail = NULL;
		munmap(b, b->size);
	}
	if (st->walk_held &&
	    __atomic_load_n(&st->published, __ATOMIC_RELAXED) - st->retired < STREAM_AHEAD) {
		st->walk_held = false; /* (so the generator does not retire again before it runs) */
		pthread_cond_broadcast(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
}

struct oce_file *const *
oce_flist_stream_dirs(const struct oce_flist *fl, size_t *n)
{
	*n = fl->stream->ndirs;
	return fl->stream->dirs;
}

int
oce_flist_stream_join(struct oce_session *s, bool cancel)
{
	struct oce_fstream *st = s->fl.stream;

	if (!st)
		return 0;
	if (cancel) {
		pthread_mutex_lock(&st->lock);
		__atomic_store_n(&st->cancel, true, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&st->cond);
		pthread_mutex_unlock(&st->lock);
	}
	if (st->thr_up) {
		pthread_join(st->thr, NULL);
		st->thr_up = false;
	}
	s->fl.n = oce_flist_stream_avail(&s->fl);
	return st->result;
}

/* What a streamed list holds beyond the usual (the entries' blocks it gave back already). */
static void
stream_free(struct oce_flist *fl)
{
	struct oce_fstream *st = fl->stream;

	while (st->head) {
		struct sblock *b = st->head;

		st->head = b->next;
		munmap(b, b->size);
	}
	if (st->cur)
		munmap(st->cur, st->cur->size);
	munmap(fl->wire, STREAM_MAX * sizeof(*fl->wire));
	fl->wire = fl->v = NULL;
	fl->n = 0;
	free(st->pend);
	free(st->dirs);
	free(st->groups);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	free(st);
	fl->stream = NULL;
}
