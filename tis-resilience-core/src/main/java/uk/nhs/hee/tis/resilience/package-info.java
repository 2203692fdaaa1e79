/**
 * tis-resilience core: the exception callers see when a downstream service is unavailable.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience;

import org.jspecify.annotations.NullMarked;
