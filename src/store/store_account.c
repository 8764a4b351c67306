#include "store/store_account.h"

#include <stdio.h>
#include <stddef.h>

#include "base/file.h"

static const char *const names[STORE_ACCOUNT_FILE__MAX] = {
        [STORE_ACCOUNT_ROOT] = NULL,
        [STORE_ACCOUNT_DIR] = NULL,
        [STORE_ACCOUNT_KEY] = "account.key",
        [STORE_ACCOUNT_JSON] = "account.json",
        [STORE_ACCOUNT_KEY_NEW] = "account.key.new",
        [STORE_ACCOUNT_KEY_PREV] = "account.key.prev",
        [STORE_ACCOUNT_KEY_LOCAL] = "account.key.local",
        [STORE_ACCOUNT_JSON_LOCAL] = "account.json.local",
};

char *
store_account_path(const char *state_dir, const char *host, enum store_account_file file)
{
	char lock[256];
	int n;

	if (file >= STORE_ACCOUNT_FILE__MAX) {
		return NULL;
	}
	if (file == STORE_ACCOUNT_LOCK) {
		n = snprintf(lock, sizeof(lock), "account.%s", host);
		if (n < 0 || (size_t)n >= sizeof(lock)) {
			return NULL;
		}
		return file_path(state_dir, "locks", lock, NULL);
	}
	if (file == STORE_ACCOUNT_ROOT) {
		return file_path(state_dir, "accounts", NULL);
	}
	return file_path(state_dir, "accounts", host, "default", names[file], NULL);
}

char *
store_account_in(const char *account_dir, enum store_account_file file)
{
	if (file >= STORE_ACCOUNT_FILE__MAX || names[file] == NULL) {
		return NULL;
	}
	return file_path(account_dir, names[file], NULL);
}
