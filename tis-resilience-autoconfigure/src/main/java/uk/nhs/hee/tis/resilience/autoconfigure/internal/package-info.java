/**
 * Types the auto-configurations share across packages. Not part of the public API: they are public only
 * because Java needs it; they may change in any release.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.autoconfigure.internal;

import org.jspecify.annotations.NullMarked;
