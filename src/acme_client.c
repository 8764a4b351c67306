#include "acme_client.h"
