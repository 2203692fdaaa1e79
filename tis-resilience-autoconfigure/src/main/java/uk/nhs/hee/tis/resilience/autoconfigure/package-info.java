/**
 * Auto-configuration of tis-resilience: its properties and the registry of service guards.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.autoconfigure;

import org.jspecify.annotations.NullMarked;
