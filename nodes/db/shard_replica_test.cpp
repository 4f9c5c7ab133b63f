#include "nodes/db/shard_replica.h"
