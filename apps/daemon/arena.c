/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The config snapshot's bump allocator (arena.h). */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps/daemon/arena.h"

#define CHUNK_MIN 4096

struct chunk {
	struct chunk *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
};

struct oce_dconf_arena {
	struct chunk *head;
};

struct oce_dconf_arena *
oce_arena_new(void)
{
	return calloc(1, sizeof(struct oce_dconf_arena));
}

void *
oce_arena_alloc(struct oce_dconf_arena *a, size_t size)
{
	const size_t al = alignof(max_align_t);
	struct chunk *c = a->head;
	size_t need = (size + al - 1) & ~(al - 1);
	void *p;

	if (need < size)
		return NULL;
	if (!c || c->cap - c->used < need) {
		size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;

		if (cap > SIZE_MAX - sizeof(*c))
			return NULL;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += need;
	return p;
}

char *
oce_arena_strndup(struct oce_dconf_arena *a, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = oce_arena_alloc(a, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void
oce_arena_free(struct oce_dconf_arena *a)
{
	struct chunk *c, *n;

	if (!a)
		return;
	for (c = a->head; c; c = n) {
		n = c->next;
		free(c);
	}
	free(a);
}
