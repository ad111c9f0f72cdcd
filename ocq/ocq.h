/* SPDX-License-Identifier: MIT */
/*
 * ocq.h - the one header to include for all of ocq (lock-free queues and
 * channels for every topology). Header-only: copy the ocq/ folder into your
 * tree, #include "ocq/ocq.h", compile with -pthread. See docs/design/ocq.md.
 */
#ifndef OCQ_H
#define OCQ_H

#include "ocq_base.h"
#include "ocq_spsc.h"
#include "ocq_ring.h"

#endif /* OCQ_H */
