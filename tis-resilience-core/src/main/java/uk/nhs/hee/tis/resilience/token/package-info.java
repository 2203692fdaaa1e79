/**
 * Service-to-service access tokens that outlive an outage of the token issuer: refreshed ahead of
 * expiry in the background, fetched once for all concurrent callers, and used until they really
 * expire.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.token;

import org.jspecify.annotations.NullMarked;
