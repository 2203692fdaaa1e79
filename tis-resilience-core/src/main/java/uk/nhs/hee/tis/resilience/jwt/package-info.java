/**
 * JWT validation that survives an identity-provider outage: a JWK set source that keeps the
 * last-known-good keys (in memory and on disk), refreshes them ahead in the background, and never
 * lets an unknown key id turn into a storm of fetches.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.jwt;

import org.jspecify.annotations.NullMarked;
