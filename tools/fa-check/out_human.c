/* placeholder, replaced by its owner */
#include "check.h"
