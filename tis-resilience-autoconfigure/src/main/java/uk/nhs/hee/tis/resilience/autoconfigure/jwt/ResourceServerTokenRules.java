package uk.nhs.hee.tis.resilience.autoconfigure.jwt;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.security.oauth2.server.resource.autoconfigure.OAuth2ResourceServerProperties;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtClaimNames;
import org.springframework.security.oauth2.jwt.JwtClaimValidator;
import org.springframework.security.oauth2.jwt.JwtIssuerValidator;
import org.springframework.security.oauth2.jwt.JwtValidators;

/**
 * The token rules Spring Boot's resource-server auto-configuration applies, applied the same way to
 * the decoders the starter builds: the issuer, the audiences, every {@code OAuth2TokenValidator<Jwt>}
 * bean of the application in its order, then Spring Security's defaults (timestamps with their clock
 * skew, the {@code typ} header, the certificate thumbprint) unless the application's validators
 * already include one of a kind; and the {@code jws-algorithms}. Kept in step with Boot's
 * {@code OAuth2ResourceServerJwtConfiguration} (4.0), and checked by a test that sends the same
 * tokens to an application with the starter on and off.
 */
final class ResourceServerTokenRules {

	static final String JWT_PREFIX = "spring.security.oauth2.resourceserver.jwt";

	private ResourceServerTokenRules() {
	}

	static OAuth2TokenValidator<Jwt> validator(OAuth2ResourceServerProperties.Jwt jwt,
			List<OAuth2TokenValidator<Jwt>> applicationValidators) {
		List<OAuth2TokenValidator<Jwt>> validators = new ArrayList<>();
		if (jwt.getIssuerUri() != null) {
			validators.add(new JwtIssuerValidator(jwt.getIssuerUri()));
		}
		List<String> audiences = jwt.getAudiences();
		if (!audiences.isEmpty()) {
			validators.add(new JwtClaimValidator<List<String>>(JwtClaimNames.AUD,
					(aud) -> aud != null && !Collections.disjoint(aud, audiences)));
		}
		validators.addAll(applicationValidators);
		return validators.isEmpty() ? JwtValidators.createDefault() : JwtValidators.createDefaultWithValidators(validators);
	}

	/**
	 * The algorithms tokens may be signed with. With {@code jwk-set-uri}, the {@code jws-algorithms}
	 * property, as Boot applies it. With {@code issuer-uri} alone, Boot ignores {@code jws-algorithms}
	 * and accepts what the issuer's keys allow (a key's {@code alg}, else its family); the starter
	 * accepts every asymmetric algorithm and lets the same key matching decide (a key that names its
	 * {@code alg} verifies only that one), so an ES256 or PS256 realm validates as it does with Boot.
	 */
	static Set<SignatureAlgorithm> algorithms(OAuth2ResourceServerProperties.Jwt jwt) {
		if (jwt.getJwkSetUri() == null) {
			return new LinkedHashSet<>(List.of(SignatureAlgorithm.values()));
		}
		Set<SignatureAlgorithm> algorithms = new LinkedHashSet<>();
		for (String name : jwt.getJwsAlgorithms()) {
			SignatureAlgorithm algorithm = SignatureAlgorithm.from(name);
			if (algorithm == null) {
				throw new InvalidConfigurationPropertyValueException(JWT_PREFIX + ".jws-algorithms", name,
						"Unknown algorithm");
			}
			algorithms.add(algorithm);
		}
		return algorithms;
	}

}
