/**
 * Spring Cloud CircuitBreaker integration over the same per-service guards.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.autoconfigure.policy;

import org.jspecify.annotations.NullMarked;
