#include "b64.h"
