package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

/**
 * {@code /actuator/jwks}: what the JWT key set source knows (read), and a refresh forced by an
 * operator (write), for when Keycloak rotated its keys and you do not want to wait.
 */
@Endpoint(id = "jwks")
final class JwksEndpoint {

	private final ResilientJwkSetSource source;

	JwksEndpoint(ResilientJwkSetSource source) {
		this.source = source;
	}

	@ReadOperation
	ResilientJwkSetSource.Status status() {
		return this.source.status();
	}

	@WriteOperation
	ResilientJwkSetSource.Status refresh() {
		this.source.refreshNow();
		return this.source.status();
	}

}
