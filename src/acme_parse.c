#include "acme_parse.h"
