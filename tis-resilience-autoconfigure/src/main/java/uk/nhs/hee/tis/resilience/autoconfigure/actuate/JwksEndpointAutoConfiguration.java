package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

import uk.nhs.hee.tis.resilience.autoconfigure.jwt.JwtDecoderAutoConfiguration;
import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

/**
 * {@code /actuator/jwks}: the key set's status, and a refresh an operator can force. Exposed like
 * any endpoint ({@code management.endpoints.web.exposure.include=jwks}); secure it as you secure
 * Actuator.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = JwtDecoderAutoConfiguration.class)
@ConditionalOnClass({ Endpoint.class, ConditionalOnAvailableEndpoint.class })
@ConditionalOnBean(ResilientJwkSetSource.class)
@ConditionalOnAvailableEndpoint(JwksEndpoint.class)
public final class JwksEndpointAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	JwksEndpoint tisJwksEndpoint(ResilientJwkSetSource source) {
		return new JwksEndpoint(source);
	}

}
