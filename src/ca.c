#include "ca.h"
