/**
 * Resource-server JWT validation on the starter's resilient JWK source.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.autoconfigure.jwt;

import org.jspecify.annotations.NullMarked;
