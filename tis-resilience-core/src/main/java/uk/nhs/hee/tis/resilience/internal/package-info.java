/**
 * Shared machinery of the core packages. Public only because Java requires it to be shared across
 * packages: not API, may change in any release.
 */
@NullMarked
package uk.nhs.hee.tis.resilience.internal;

import org.jspecify.annotations.NullMarked;
