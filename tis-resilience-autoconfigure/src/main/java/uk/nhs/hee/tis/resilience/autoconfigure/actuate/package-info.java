/**
 * What operators see: health, metrics and Actuator endpoints.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import org.jspecify.annotations.NullMarked;
