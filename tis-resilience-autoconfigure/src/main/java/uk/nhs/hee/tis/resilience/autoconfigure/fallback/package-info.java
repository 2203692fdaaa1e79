/**
 * {@code @Fallback} and {@code @Resilient}: method interceptors, their startup checks, and the
 * fallback beans of HTTP interfaces.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import org.jspecify.annotations.NullMarked;
