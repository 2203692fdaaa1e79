package uk.nhs.hee.tis.examples.tcs;

import java.time.Duration;

import com.github.benmanes.caffeine.cache.Caffeine;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.security.oauth2.server.resource.autoconfigure.servlet.JwkSetUriJwtDecoderBuilderCustomizer;
import org.springframework.cache.caffeine.CaffeineCache;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.oauth2.client.AuthorizedClientServiceOAuth2AuthorizedClientManager;
import org.springframework.security.oauth2.client.OAuth2AuthorizedClientManager;
import org.springframework.security.oauth2.client.OAuth2AuthorizedClientService;
import org.springframework.security.oauth2.client.registration.ClientRegistrationRepository;
import org.springframework.security.oauth2.client.web.client.support.OAuth2RestClientHttpServiceGroupConfigurer;
import org.springframework.security.oauth2.client.web.reactive.function.client.support.OAuth2WebClientHttpServiceGroupConfigurer;

/**
 * What a team writes with plain Spring Security when the starter is switched off
 * ({@code tis.resilience.enabled=false}), so that the outage drills compare like with like: the
 * grade sync still sends tcs's service token, the way Spring Security's reference documentation
 * shows for HTTP service clients. None of this is needed with the starter.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBooleanProperty(name = "tis.resilience.enabled", havingValue = false)
class WithoutStarterConfiguration {

	@Bean
	OAuth2AuthorizedClientManager authorizedClientManager(ClientRegistrationRepository registrations,
			OAuth2AuthorizedClientService clients) {
		// Client credentials, outside any HTTP session; Spring's default: a token is renewed 60 s before it expires.
		return new AuthorizedClientServiceOAuth2AuthorizedClientManager(registrations, clients);
	}

	@Bean
	OAuth2RestClientHttpServiceGroupConfigurer serviceTokens(OAuth2AuthorizedClientManager manager) {
		return OAuth2RestClientHttpServiceGroupConfigurer.from(manager);
	}

	/** The same for the HTTP service groups on WebClient (Reference's). */
	@Bean
	OAuth2WebClientHttpServiceGroupConfigurer webClientServiceTokens(OAuth2AuthorizedClientManager manager) {
		return OAuth2WebClientHttpServiceGroupConfigurer.from(manager);
	}

	/**
	 * Spring Security keeps Keycloak's keys for 5 minutes. The Keycloak drills shorten that (the
	 * {@code demo.jwks-cache-ttl} property) so that an outage longer than the cache fits in a demo;
	 * the starter's {@code tis.resilience.jwt.refresh-interval} is set to the same value.
	 */
	@Bean
	JwkSetUriJwtDecoderBuilderCustomizer keyCacheTimeToLive(@Value("${demo.jwks-cache-ttl:5m}") Duration ttl) {
		return (builder) -> builder
			.cache(new CaffeineCache("jwks", Caffeine.newBuilder().expireAfterWrite(ttl).build()));
	}

}
