#include "base/list.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

struct item {
	int value;
	struct list_node node;
};

/* The values of l in order, into out (at most n): how many there are. */
static size_t
values(const struct list *l, int *out, size_t n)
{
	struct list_node *node;
	struct list_node *tmp;
	size_t i = 0;

	list_for_each(l, node, tmp)
	{
		if (i < n) {
			out[i] = list_entry(node, struct item, node)->value;
		}
		i++;
	}
	return i;
}

static void
test_empty(void **state)
{
	struct list l;
	int out[1];

	(void)state;
	list_init(&l);
	assert_true(list_empty(&l));
	assert_null(list_first(&l));
	assert_int_equal(values(&l, out, 1), 0);
}

static void
test_push_append(void **state)
{
	struct item it[4] = {{.value = 0}, {.value = 1}, {.value = 2}, {.value = 3}};
	struct list l;
	int out[4];

	(void)state;
	list_init(&l);
	list_append(&l, &it[1].node);
	list_append(&l, &it[2].node);
	list_push(&l, &it[0].node);
	list_append(&l, &it[3].node);
	assert_false(list_empty(&l));
	assert_int_equal(values(&l, out, 4), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(out[i], i);
		assert_true(list_linked(&it[i].node));
	}
	assert_ptr_equal(list_first(&l), &it[0].node);
	assert_ptr_equal(list_entry(list_first(&l), struct item, node), &it[0]);
}

static void
test_unlink(void **state)
{
	struct item it[3] = {{.value = 0}, {.value = 1}, {.value = 2}};
	struct list l;
	int out[3];

	(void)state;
	list_init(&l);
	for (int i = 0; i < 3; i++) {
		list_append(&l, &it[i].node);
	}
	/* The middle, then the ends: no special case for either. */
	list_unlink(&it[1].node);
	assert_false(list_linked(&it[1].node));
	assert_int_equal(values(&l, out, 3), 2);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 2);
	/* Twice is harmless. */
	list_unlink(&it[1].node);
	assert_int_equal(values(&l, out, 3), 2);
	list_unlink(&it[0].node);
	list_unlink(&it[2].node);
	assert_true(list_empty(&l));
	/* An unlinked node can go into a list again. */
	list_push(&l, &it[2].node);
	assert_int_equal(values(&l, out, 3), 1);
	assert_int_equal(out[0], 2);
}

static void
test_node_init(void **state)
{
	struct item it = {.value = 7};
	struct item zeroed = {0};

	(void)state;
	list_node_init(&it.node);
	assert_false(list_linked(&it.node));
	list_unlink(&it.node);
	assert_false(list_linked(&it.node));
	/* A zeroed node is in no list either, and unlinking it is safe. */
	assert_false(list_linked(&zeroed.node));
	list_unlink(&zeroed.node);
	assert_false(list_linked(&zeroed.node));
}

/* Unlinking the node being visited, as the owners do when they free. */
static void
test_unlink_while_walking(void **state)
{
	struct item it[5];
	struct list_node *node;
	struct list_node *tmp;
	struct list l;
	int out[5];

	(void)state;
	list_init(&l);
	for (int i = 0; i < 5; i++) {
		it[i].value = i;
		list_append(&l, &it[i].node);
	}
	list_for_each(&l, node, tmp)
	{
		if (list_entry(node, struct item, node)->value % 2 == 0) {
			list_unlink(node);
		}
	}
	assert_int_equal(values(&l, out, 5), 2);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 3);
	list_for_each(&l, node, tmp)
	{
		list_unlink(node);
	}
	assert_true(list_empty(&l));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_push_append),
	        cmocka_unit_test(test_unlink),
	        cmocka_unit_test(test_node_init),
	        cmocka_unit_test(test_unlink_while_walking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
