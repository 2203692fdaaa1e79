/**
 * Annotations that declare what happens when a downstream service fails ({@link Fallback}) and
 * which calls the starter cannot see run under a service's policy ({@link Resilient}).
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.annotation;

import org.jspecify.annotations.NullMarked;
