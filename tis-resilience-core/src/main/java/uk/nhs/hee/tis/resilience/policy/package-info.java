/**
 * Per-service policies and the guard that runs one call under them (breaker, retry, bulkhead,
 * deadline). No Spring Boot here: usable from plain Java.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.policy;

import org.jspecify.annotations.NullMarked;
