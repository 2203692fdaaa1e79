package uk.nhs.hee.tis.resilience.autoconfigure.jwt;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication.Type;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.security.oauth2.server.resource.autoconfigure.OAuth2ResourceServerProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtClaimNames;
import org.springframework.security.oauth2.jwt.JwtClaimValidator;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtValidators;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.jwt.NimbusReactiveJwtDecoder;
import org.springframework.security.oauth2.jwt.ReactiveJwtDecoder;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceProperties;
import uk.nhs.hee.tis.resilience.jwt.JwkSetSettings;
import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

/**
 * When the application is a resource server ({@code spring.security.oauth2.resourceserver.jwt.issuer-uri}
 * or {@code jwk-set-uri}), provides the {@code JwtDecoder} (or {@code ReactiveJwtDecoder}) on the
 * starter's {@link ResilientJwkSetSource}: validation keeps working through a Keycloak outage, a
 * service restarted during one validates tokens from its cache file, and startup never needs the
 * issuer. Spring Security still verifies signatures and claims; only where the keys come from
 * changes. Backs off when the application defines its own decoder.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = TisResilienceAutoConfiguration.class, beforeName = {
		"org.springframework.boot.security.oauth2.server.resource.autoconfigure.servlet.OAuth2ResourceServerAutoConfiguration",
		"org.springframework.boot.security.oauth2.server.resource.autoconfigure.reactive.ReactiveOAuth2ResourceServerAutoConfiguration" })
@ConditionalOnClass({ NimbusJwtDecoder.class, OAuth2ResourceServerProperties.class })
@ConditionalOnBooleanProperty(name = "tis.resilience.enabled", matchIfMissing = true)
@Conditional(JwtDecoderAutoConfiguration.KeyLocationCondition.class)
@EnableConfigurationProperties({ OAuth2ResourceServerProperties.class, TisResilienceProperties.class })
public final class JwtDecoderAutoConfiguration {

	private static final String JWT_PREFIX = "spring.security.oauth2.resourceserver.jwt";

	@Bean
	@ConditionalOnMissingBean
	ResilientJwkSetSource tisJwkSetSource(OAuth2ResourceServerProperties resourceServer,
			TisResilienceProperties properties) {
		ResilientJwkSetSource source = new ResilientJwkSetSource(settings(resourceServer.getJwt(), properties.jwt()));
		source.start();
		return source;
	}

	static JwkSetSettings settings(OAuth2ResourceServerProperties.Jwt jwt, TisResilienceProperties.JwtProperties ours) {
		String issuer = jwt.getIssuerUri();
		URI jwkSetUri = (jwt.getJwkSetUri() != null) ? URI.create(jwt.getJwkSetUri())
				: URI.create(stripTrailingSlash(issuer) + ours.jwkSetPath());
		Set<String> algorithms = new LinkedHashSet<>(jwt.getJwsAlgorithms());
		return new JwkSetSettings(jwkSetUri, issuer, ours.refreshInterval(), ours.maxStale(), ours.unknownKidCooldown(),
				ours.connectTimeout(), ours.readTimeout(), (int) ours.maxResponseSize().toBytes(), algorithms,
				ours.cacheFile(),
				(ours.cacheFileKey() != null) ? ours.cacheFileKey().getBytes(StandardCharsets.UTF_8) : null);
	}

	private static String stripTrailingSlash(String uri) {
		return uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
	}

	static OAuth2TokenValidator<Jwt> validator(OAuth2ResourceServerProperties.Jwt jwt) {
		List<OAuth2TokenValidator<Jwt>> validators = new ArrayList<>();
		validators.add((jwt.getIssuerUri() != null) ? JwtValidators.createDefaultWithIssuer(jwt.getIssuerUri())
				: JwtValidators.createDefault());
		List<String> audiences = jwt.getAudiences();
		if (!audiences.isEmpty()) {
			validators.add(new JwtClaimValidator<List<String>>(JwtClaimNames.AUD,
					(aud) -> aud != null && !Collections.disjoint(aud, audiences)));
		}
		return new DelegatingOAuth2TokenValidator<>(validators);
	}

	static Set<SignatureAlgorithm> algorithms(OAuth2ResourceServerProperties.Jwt jwt) {
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

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnWebApplication(type = Type.SERVLET)
	static class ServletJwtDecoderConfiguration {

		@Bean
		@ConditionalOnMissingBean(JwtDecoder.class)
		JwtDecoder tisJwtDecoder(ResilientJwkSetSource source, OAuth2ResourceServerProperties resourceServer) {
			NimbusJwtDecoder decoder = NimbusJwtDecoder.withJwkSource(source)
				.jwsAlgorithms((algorithms) -> algorithms.addAll(algorithms(resourceServer.getJwt())))
				.build();
			decoder.setJwtValidator(validator(resourceServer.getJwt()));
			return decoder;
		}

	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnWebApplication(type = Type.REACTIVE)
	@ConditionalOnClass({ ReactiveJwtDecoder.class, Mono.class })
	static class ReactiveJwtDecoderConfiguration {

		@Bean
		@ConditionalOnMissingBean(ReactiveJwtDecoder.class)
		ReactiveJwtDecoder tisReactiveJwtDecoder(ResilientJwkSetSource source,
				OAuth2ResourceServerProperties resourceServer) {
			NimbusReactiveJwtDecoder.JwkSourceReactiveJwtDecoderBuilder builder = NimbusReactiveJwtDecoder
				.withJwkSource((jwt) -> Mono
					.fromCallable(() -> source.get(new JWKSelector(JWKMatcher.forJWSHeader(jwt.getHeader())), null))
					// An unknown key id may wait for one fetch: never on an event-loop thread.
					.subscribeOn(Schedulers.boundedElastic())
					.flatMapMany(Flux::fromIterable));
			for (SignatureAlgorithm algorithm : algorithms(resourceServer.getJwt())) {
				builder.jwsAlgorithm(algorithm);
			}
			NimbusReactiveJwtDecoder decoder = builder.build();
			decoder.setJwtValidator(validator(resourceServer.getJwt()));
			return decoder;
		}

	}

	/** Matches when the application names an issuer or a key set URI. */
	static final class KeyLocationCondition extends AnyNestedCondition {

		KeyLocationCondition() {
			super(ConfigurationPhase.REGISTER_BEAN);
		}

		@ConditionalOnProperty(name = JWT_PREFIX + ".issuer-uri")
		static class OnIssuerUri {

		}

		@ConditionalOnProperty(name = JWT_PREFIX + ".jwk-set-uri")
		static class OnJwkSetUri {

		}

	}

}
