package uk.nhs.hee.tis.resilience.autoconfigure.jwt;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.source.JWKSecurityContextJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication.Type;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.security.oauth2.server.resource.autoconfigure.OAuth2ResourceServerProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.jwt.NimbusReactiveJwtDecoder;
import org.springframework.security.oauth2.jwt.ReactiveJwtDecoder;
import org.springframework.util.ClassUtils;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceProperties;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;
import uk.nhs.hee.tis.resilience.jwt.JwkSetSettings;
import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

/**
 * When the application is a resource server ({@code spring.security.oauth2.resourceserver.jwt.issuer-uri}
 * or {@code jwk-set-uri}), provides the {@code JwtDecoder} (or {@code ReactiveJwtDecoder}) on the
 * starter's {@link ResilientJwkSetSource}: validation keeps working through a Keycloak outage, a
 * service restarted during one validates tokens from its cache file, and startup never needs the
 * issuer. Spring Security still verifies signatures and claims with exactly the rules Boot's own
 * decoder applies (see {@link ResourceServerTokenRules}); only where the keys come from changes.
 * Backs off when the application defines its own decoder, and when the application customizes Boot's decoder builder
 * ({@code JwkSetUriJwtDecoderBuilderCustomizer} or its reactive twin), which can only be applied to
 * Boot's own builder: Boot's decoder is then used, unprotected, and one WARN line says so.
 *
 * @since 0.1.0
 */
// Boot 4.0 keeps the servlet auto-configuration in a servlet package, Boot 4.1 one level up: both are named.
@AutoConfiguration(after = TisResilienceAutoConfiguration.class, beforeName = {
		"org.springframework.boot.security.oauth2.server.resource.autoconfigure.servlet.OAuth2ResourceServerAutoConfiguration",
		"org.springframework.boot.security.oauth2.server.resource.autoconfigure.OAuth2ResourceServerAutoConfiguration",
		"org.springframework.boot.security.oauth2.server.resource.autoconfigure.reactive.ReactiveOAuth2ResourceServerAutoConfiguration" })
@ConditionalOnClass({ NimbusJwtDecoder.class, OAuth2ResourceServerProperties.class })
@ConditionalOnSwitch("tis.resilience.enabled")
@Conditional(JwtDecoderAutoConfiguration.KeyLocationCondition.class)
@EnableConfigurationProperties({ OAuth2ResourceServerProperties.class, TisResilienceProperties.class })
public final class JwtDecoderAutoConfiguration {

	static final String SERVLET_BUILDER_CUSTOMIZER = "org.springframework.boot.security.oauth2.server.resource.autoconfigure.servlet.JwkSetUriJwtDecoderBuilderCustomizer";

	static final String REACTIVE_BUILDER_CUSTOMIZER = "org.springframework.boot.security.oauth2.server.resource.autoconfigure.reactive.JwkSetUriReactiveJwtDecoderBuilderCustomizer";

	/** Boot 4.1's servlet customizer, one package up from 4.0's. */
	static final String BUILDER_CUSTOMIZER = "org.springframework.boot.security.oauth2.server.resource.autoconfigure.JwkSetUriJwtDecoderBuilderCustomizer";

	private static final String JWT_PREFIX = ResourceServerTokenRules.JWT_PREFIX;

	private static final Log logger = LogFactory.getLog(JwtDecoderAutoConfiguration.class);

	@Bean
	@ConditionalOnMissingBean(value = ResilientJwkSetSource.class,
			type = { SERVLET_BUILDER_CUSTOMIZER, BUILDER_CUSTOMIZER, REACTIVE_BUILDER_CUSTOMIZER })
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
		Set<String> algorithms = new LinkedHashSet<>();
		ResourceServerTokenRules.algorithms(jwt).forEach((algorithm) -> algorithms.add(algorithm.getName()));
		return new JwkSetSettings(jwkSetUri, issuer, ours.refreshInterval(), ours.maxStale(), ours.unknownKidCooldown(),
				ours.connectTimeout(), ours.readTimeout(), (int) ours.maxResponseSize().toBytes(), algorithms,
				ours.cacheFile(),
				(ours.cacheFileKey() != null) ? ours.cacheFileKey().getBytes(StandardCharsets.UTF_8) : null);
	}

	private static String stripTrailingSlash(String uri) {
		return uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnWebApplication(type = Type.SERVLET)
	@ConditionalOnMissingBean(type = { SERVLET_BUILDER_CUSTOMIZER, BUILDER_CUSTOMIZER })
	static class ServletJwtDecoderConfiguration {

		@Bean
		@ConditionalOnMissingBean(JwtDecoder.class)
		JwtDecoder tisJwtDecoder(ResilientJwkSetSource source, OAuth2ResourceServerProperties resourceServer,
				ObjectProvider<OAuth2TokenValidator<Jwt>> validators) {
			NimbusJwtDecoder decoder = NimbusJwtDecoder.withJwkSource(source)
				.jwsAlgorithms((algorithms) -> algorithms.addAll(ResourceServerTokenRules.algorithms(resourceServer.getJwt())))
				.build();
			decoder.setJwtValidator(ResourceServerTokenRules.validator(resourceServer.getJwt(),
					validators.orderedStream().toList()));
			return decoder;
		}

	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnWebApplication(type = Type.REACTIVE)
	@ConditionalOnClass({ ReactiveJwtDecoder.class, Mono.class })
	@ConditionalOnMissingBean(type = REACTIVE_BUILDER_CUSTOMIZER)
	static class ReactiveJwtDecoderConfiguration {

		@Bean
		@ConditionalOnMissingBean(ReactiveJwtDecoder.class)
		ReactiveJwtDecoder tisReactiveJwtDecoder(ResilientJwkSetSource source,
				OAuth2ResourceServerProperties resourceServer, ObjectProvider<OAuth2TokenValidator<Jwt>> validators) {
			NimbusReactiveJwtDecoder.JwkSourceReactiveJwtDecoderBuilder builder = NimbusReactiveJwtDecoder
				.withJwkSource((jwt) -> Mono
					.fromCallable(() -> source.get(new JWKSelector(JWKMatcher.forJWSHeader(jwt.getHeader())), null))
					.flatMapMany(Flux::fromIterable));
			// This builder keeps one algorithm; Boot's accepts every one of jws-algorithms, and so do we.
			Set<JWSAlgorithm> algorithms = new LinkedHashSet<>();
			for (SignatureAlgorithm algorithm : ResourceServerTokenRules.algorithms(resourceServer.getJwt())) {
				algorithms.add(JWSAlgorithm.parse(algorithm.getName()));
			}
			builder.jwtProcessorCustomizer((processor) -> processor
				.setJWSKeySelector(new JWSVerificationKeySelector<>(algorithms, new JWKSecurityContextJWKSet())));
			NimbusReactiveJwtDecoder decoder = builder.build();
			decoder.setJwtValidator(ResourceServerTokenRules.validator(resourceServer.getJwt(),
					validators.orderedStream().toList()));
			return decoder;
		}

	}

	/**
	 * Where the application customizes Boot's decoder builder, Boot's decoder is used: the starter
	 * cannot apply the customizer to its own decoder, and a decoder without the application's
	 * customization could be weaker. Said once, at startup.
	 */
	@Configuration(proxyBeanMethods = false)
	@Conditional(OnBuilderCustomizerCondition.class)
	static class BootDecoderKeptConfiguration {

		@Bean
		SmartInitializingSingleton tisJwtDecoderNotProtectedReport(ListableBeanFactory beanFactory) {
			return () -> {
				List<String> names = new ArrayList<>();
				for (String type : List.of(SERVLET_BUILDER_CUSTOMIZER, BUILDER_CUSTOMIZER, REACTIVE_BUILDER_CUSTOMIZER)) {
					if (ClassUtils.isPresent(type, beanFactory.getClass().getClassLoader())) {
						names.addAll(List.of(beanFactory.getBeanNamesForType(ClassUtils.resolveClassName(type,
								beanFactory.getClass().getClassLoader()))));
					}
				}
				logger.warn("tis-resilience event=jwt_decoder_not_protected beans=" + names
						+ " reason=\"the application customizes Spring Boot's JwtDecoder builder, so Boot's decoder is "
						+ "kept: token validation will fail while the issuer is unreachable\"");
			};
		}

	}

	/** Matches when the application declares a customizer of Boot's decoder builder. */
	static final class OnBuilderCustomizerCondition extends AnyNestedCondition {

		OnBuilderCustomizerCondition() {
			super(ConfigurationPhase.REGISTER_BEAN);
		}

		@ConditionalOnBean(type = SERVLET_BUILDER_CUSTOMIZER)
		static class OnServletCustomizer {

		}

		@ConditionalOnBean(type = BUILDER_CUSTOMIZER)
		static class OnCustomizer {

		}

		@ConditionalOnBean(type = REACTIVE_BUILDER_CUSTOMIZER)
		static class OnReactiveCustomizer {

		}

	}

	/**
	 * Matches where Boot's own auto-configuration builds a decoder that fetches keys: from
	 * {@code jwk-set-uri} or {@code issuer-uri}, which both win over {@code public-key-location} in Boot.
	 * A decoder on a local {@code public-key-location} alone needs no issuer, and is left to Boot.
	 */
	static final class KeyLocationCondition extends SpringBootCondition {

		@Override
		public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
			Environment environment = context.getEnvironment();
			if (environment.containsProperty(JWT_PREFIX + ".jwk-set-uri")) {
				return ConditionOutcome.match("jwk-set-uri is set");
			}
			return environment.containsProperty(JWT_PREFIX + ".issuer-uri") ? ConditionOutcome.match("issuer-uri is set")
					: ConditionOutcome.noMatch("neither jwk-set-uri nor issuer-uri is set");
		}

	}

}
