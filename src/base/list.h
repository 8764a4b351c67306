/* One intrusive doubly linked list for every module that keeps a set of
 * live things (requests, transfers, connections, deferred calls): the node
 * sits in the thing, the list head in its owner, and unlinking is O(1)
 * without knowing the owner. The list is circular through its head, so no
 * operation has a special case for the first or last node. */
#ifndef ACMED_LIST_H
#define ACMED_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
	struct list_node *prev, *next;
};

/* A head is a node that is no thing's. */
struct list {
	struct list_node head;
};

/* The thing that holds node as its member named member. */
#define list_entry(node, type, member) ((type *)(void *)((char *)(node)-offsetof(type, member)))

/* Each node of l in order; node may be unlinked (and its thing freed) in the
 * body: the next is read before. */
#define list_for_each(l, node, tmp)                                               \
	for ((node) = (l)->head.next, (tmp) = (node)->next; (node) != &(l)->head; \
	     (node) = (tmp), (tmp) = (node)->next)

static inline void
list_init(struct list *l)
{
	l->head.prev = &l->head;
	l->head.next = &l->head;
}

/* A node that is in no list: list_unlink on it does nothing. */
static inline void
list_node_init(struct list_node *n)
{
	n->prev = n;
	n->next = n;
}

static inline bool
list_empty(const struct list *l)
{
	return l->head.next == &l->head;
}

/* Whether n is in some list (after list_node_init or list_unlink: no). */
static inline bool
list_linked(const struct list_node *n)
{
	return n->next != NULL && n->next != n;
}

static inline void
list_insert_after(struct list_node *at, struct list_node *n)
{
	n->prev = at;
	n->next = at->next;
	at->next->prev = n;
	at->next = n;
}

/* At the front (newest first). */
static inline void
list_push(struct list *l, struct list_node *n)
{
	list_insert_after(&l->head, n);
}

/* At the back (oldest first). */
static inline void
list_append(struct list *l, struct list_node *n)
{
	list_insert_after(l->head.prev, n);
}

/* Takes n out of its list and leaves it self-linked, so unlinking twice is
 * harmless. */
static inline void
list_unlink(struct list_node *n)
{
	if (n->next != NULL && n->next != n) {
		n->prev->next = n->next;
		n->next->prev = n->prev;
	}
	list_node_init(n);
}

/* The first node, or NULL when l is empty. */
static inline struct list_node *
list_first(const struct list *l)
{
	return list_empty(l) ? NULL : l->head.next;
}

#endif
