/**
 * What the end user sees when a downstream failure reaches a controller unhandled: RFC 9457
 * Problem Details.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.autoconfigure.web;

import org.jspecify.annotations.NullMarked;
