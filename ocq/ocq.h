/* SPDX-License-Identifier: MIT */
/*
 * ocq.h - the one header to include for all of ocq: lock-free queues and
 * channels for every topology. Header-only: copy the ocq/ folder into your
 * tree, #include "ocq/ocq.h", compile as C11 with -pthread on Linux.
 *
 *   ocq_spsc.h     bounded SPSC ring, slot-based with batched probes
 *   ocq_ring.h     bounded MPMC / MPSC / SPMC rings, per-slot stamps
 *   ocq_list.h     unbounded intrusive MPSC queue, wait-free push
 *   ocq_ec.h       eventcount: futex sleep, eventfd for event loops
 *   ocq_chan.h     channels: blocking, timed, close, handles, bursts,
 *                  eventfd readiness, drain_parallel
 *   ocq_reorder.h  in-order delivery across per-producer sequence ranges
 *
 * The algorithms and the memory-order reasoning: docs/design/ocq.md.
 */
#ifndef OCQ_H
#define OCQ_H

#include "ocq_base.h"
#include "ocq_spsc.h"
#include "ocq_ring.h"
#include "ocq_list.h"
#include "ocq_ec.h"
#include "ocq_chan.h"
#include "ocq_reorder.h"

#endif /* OCQ_H */
