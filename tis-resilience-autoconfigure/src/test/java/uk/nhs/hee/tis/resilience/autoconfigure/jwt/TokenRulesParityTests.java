package uk.nhs.hee.tis.resilience.autoconfigure.jwt;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.security.oauth2.server.resource.autoconfigure.reactive.ReactiveOAuth2ResourceServerAutoConfiguration;
import org.springframework.boot.security.oauth2.server.resource.autoconfigure.servlet.JwkSetUriJwtDecoderBuilderCustomizer;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.core.annotation.Order;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtClaimValidator;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtException;
import org.springframework.security.oauth2.jwt.ReactiveJwtDecoder;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Adding the starter never weakens what Spring Boot's resource server enforces: the same tokens, sent
 * to one application with the starter off ({@code tis.resilience.enabled=false}, Boot's own decoder)
 * and on (the starter's decoder on the resilient key source), get the same answers — servlet over
 * real HTTP, and reactive through the {@code ReactiveJwtDecoder} each context builds. The expected
 * answer of each token is asserted too, so that two equally broken decoders cannot pass.
 */
@ExtendWith(OutputCaptureExtension.class)
class TokenRulesParityTests {

	private static final String CERTS = "/realms/tis/protocol/openid-connect/certs";

	@RegisterExtension
	static WireMockExtension keycloak = LoopbackFixtures.loopbackServer();

	private static RSAKey key;

	private static RSAKey otherKey;

	private final List<ConfigurableApplicationContext> apps = new ArrayList<>();

	@BeforeAll
	static void keys() throws Exception {
		key = new RSAKeyGenerator(2048).keyID("k1").generate();
		otherKey = new RSAKeyGenerator(2048).keyID("k1").generate();
	}

	@AfterEach
	void stopApps() {
		this.apps.forEach(ConfigurableApplicationContext::close);
	}

	private static String issuer() {
		return "http://127.0.0.1:" + keycloak.getPort() + "/realms/tis";
	}

	private static String[] resourceServerProperties() {
		return new String[] { "spring.security.oauth2.resourceserver.jwt.jwk-set-uri=" + keycloak.baseUrl() + CERTS,
				"spring.security.oauth2.resourceserver.jwt.issuer-uri=" + issuer(),
				"spring.security.oauth2.resourceserver.jwt.audiences=tcs",
				"spring.security.oauth2.resourceserver.jwt.jws-algorithms=RS256" };
	}

	/** Each token of the matrix, and the answer Boot's resource server gives it. */
	private static Map<String, Integer> expectedAnswers() {
		Map<String, Integer> answers = new LinkedHashMap<>();
		answers.put("good", 200);
		answers.put("rejected by the application's validator", 401);
		answers.put("wrong audience", 401);
		answers.put("algorithm not allowed (RS512)", 401);
		answers.put("wrong issuer", 401);
		answers.put("expired", 401);
		answers.put("expired 20 s ago (within Spring Security's 60 s skew)", 200);
		answers.put("not yet valid", 401);
		answers.put("no kid", 200);
		answers.put("alg none", 401);
		answers.put("HS256 keyed with the public key", 401);
		answers.put("signed by another key with the same kid", 401);
		answers.put("typ JWT", 200);
		answers.put("typ at+jwt", 401);
		answers.put("typ JOSE", 401);
		return answers;
	}

	private static Map<String, String> tokens() throws Exception {
		Instant now = Instant.now();
		Function<JWTClaimsSet.Builder, JWTClaimsSet.Builder> good = (claims) -> claims;
		Map<String, String> tokens = new LinkedHashMap<>();
		tokens.put("good", rs256(good));
		tokens.put("rejected by the application's validator", rs256((claims) -> claims.claim("tenant", "other")));
		tokens.put("wrong audience", rs256((claims) -> claims.audience("reference")));
		tokens.put("algorithm not allowed (RS512)", signed(new JWSHeader.Builder(JWSAlgorithm.RS512).keyID("k1"), good, key));
		tokens.put("wrong issuer", rs256((claims) -> claims.issuer("http://127.0.0.1:1/realms/tis")));
		tokens.put("expired", rs256(
				(claims) -> claims.issueTime(Date.from(now.minusSeconds(300))).expirationTime(Date.from(now.minusSeconds(120)))));
		tokens.put("expired 20 s ago (within Spring Security's 60 s skew)", rs256(
				(claims) -> claims.issueTime(Date.from(now.minusSeconds(60))).expirationTime(Date.from(now.minusSeconds(20)))));
		tokens.put("not yet valid", rs256((claims) -> claims.notBeforeTime(Date.from(now.plusSeconds(300)))));
		tokens.put("no kid", signed(new JWSHeader.Builder(JWSAlgorithm.RS256), good, key));
		tokens.put("alg none", new PlainJWT(claims(good)).serialize());
		SignedJWT hmac = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("k1").build(), claims(good));
		hmac.sign(new MACSigner(key.toPublicJWK().toRSAPublicKey().getEncoded()));
		tokens.put("HS256 keyed with the public key", hmac.serialize());
		tokens.put("signed by another key with the same kid",
				signed(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1"), good, otherKey));
		tokens.put("typ JWT", signed(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").type(JOSEObjectType.JWT), good, key));
		tokens.put("typ at+jwt",
				signed(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").type(new JOSEObjectType("at+jwt")), good, key));
		tokens.put("typ JOSE", signed(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").type(JOSEObjectType.JOSE), good, key));
		return tokens;
	}

	private static JWTClaimsSet claims(Function<JWTClaimsSet.Builder, JWTClaimsSet.Builder> change) {
		Instant now = Instant.now();
		return change.apply(new JWTClaimsSet.Builder().subject("ada")
			.issuer(issuer())
			.audience("tcs")
			.claim("tenant", "hee")
			.issueTime(Date.from(now.minusSeconds(5)))
			.expirationTime(Date.from(now.plusSeconds(600)))).build();
	}

	private static String rs256(Function<JWTClaimsSet.Builder, JWTClaimsSet.Builder> change) throws Exception {
		return signed(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1"), change, key);
	}

	private static String signed(JWSHeader.Builder header, Function<JWTClaimsSet.Builder, JWTClaimsSet.Builder> change,
			RSAKey signingKey) throws Exception {
		SignedJWT jwt = new SignedJWT(header.build(), claims(change));
		jwt.sign(new RSASSASigner(signingKey));
		return jwt.serialize();
	}

	private static void keycloakServesKeys() {
		keycloak.stubFor(get(CERTS).willReturn(okJson(new JWKSet(key.toPublicJWK()).toString())));
	}

	@Test
	void aServletResourceServerAnswersEveryTokenAsPlainBootDoes() throws Exception {
		keycloakServesKeys();
		Map<String, String> tokens = tokens();
		Map<String, Integer> plainBoot = answers(startServlet(false), tokens);
		Map<String, Integer> withStarter = answers(startServlet(true), tokens);
		assertThat(plainBoot).isEqualTo(expectedAnswers());
		assertThat(withStarter).isEqualTo(plainBoot);
	}

	@Test
	void aReactiveResourceServerDecodesEveryTokenAsPlainBootDoes() throws Exception {
		keycloakServesKeys();
		Map<String, String> tokens = tokens();
		ReactiveWebApplicationContextRunner runner = new ReactiveWebApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
					JwtDecoderAutoConfiguration.class, ReactiveOAuth2ResourceServerAutoConfiguration.class))
			.withConfiguration(AutoConfigurations.of(bootReactiveResourceServerWebSecurity()))
			.withUserConfiguration(TenantRule.class, WebFluxSecurity.class)
			.withPropertyValues(resourceServerProperties());
		Map<String, Integer> plainBoot = new LinkedHashMap<>();
		Map<String, Integer> withStarter = new LinkedHashMap<>();
		runner.withPropertyValues("tis.resilience.enabled=false").run((context) -> {
			assertThat(context).doesNotHaveBean(ResilientJwkSetSource.class);
			plainBoot.putAll(decodes(context.getBean(ReactiveJwtDecoder.class), tokens));
		});
		runner.run((context) -> {
			assertThat(context).hasSingleBean(ResilientJwkSetSource.class);
			context.getBean(ResilientJwkSetSource.class).refreshNow();
			withStarter.putAll(decodes(context.getBean(ReactiveJwtDecoder.class), tokens));
		});
		assertThat(plainBoot).isEqualTo(expectedAnswers());
		assertThat(withStarter).isEqualTo(plainBoot);
	}

	@Test
	void acceptsWhatTheIssuersKeysAllowWithIssuerUriAloneAsPlainBootDoes() throws Exception {
		ECKey ecKey = new ECKeyGenerator(Curve.P_256).keyID("e1").generate();
		ECKey strangerEc = new ECKeyGenerator(Curve.P_256).keyID("e1").generate();
		keycloak.stubFor(get(CERTS).willReturn(okJson(new JWKSet(List.of(key.toPublicJWK(), ecKey.toPublicJWK())).toString())));
		keycloak.stubFor(get("/realms/tis/.well-known/openid-configuration").willReturn(okJson("{\"issuer\":\"" + issuer()
				+ "\",\"jwks_uri\":\"" + keycloak.baseUrl() + CERTS + "\",\"subject_types_supported\":[\"public\"]}")));
		Function<JWTClaimsSet.Builder, JWTClaimsSet.Builder> good = (claims) -> claims;
		Map<String, String> tokens = new LinkedHashMap<>();
		tokens.put("RS256", rs256(good));
		tokens.put("RS512", signed(new JWSHeader.Builder(JWSAlgorithm.RS512).keyID("k1"), good, key));
		tokens.put("PS256", signed(new JWSHeader.Builder(JWSAlgorithm.PS256).keyID("k1"), good, key));
		tokens.put("ES256", ec(ecKey, good));
		tokens.put("ES256 by another key with the same kid", ec(strangerEc, good));
		Map<String, Integer> expected = new LinkedHashMap<>(Map.of("RS256", 200, "RS512", 200, "PS256", 200, "ES256", 200,
				"ES256 by another key with the same kid", 401));
		String[] issuerOnly = { "--spring.security.oauth2.resourceserver.jwt.issuer-uri=" + issuer() };
		Map<String, Integer> plainBoot = answers(startServlet(false, issuerOnly), tokens);
		Map<String, Integer> withStarter = answers(startServlet(true, issuerOnly), tokens);
		assertThat(plainBoot).containsExactlyInAnyOrderEntriesOf(expected);
		assertThat(withStarter).isEqualTo(plainBoot);
	}

	private static String ec(ECKey signingKey, Function<JWTClaimsSet.Builder, JWTClaimsSet.Builder> change)
			throws Exception {
		SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(signingKey.getKeyID()).build(),
				claims(change));
		jwt.sign(new ECDSASigner(signingKey));
		return jwt.serialize();
	}

	@Test
	void acceptsEveryAlgorithmOfJwsAlgorithmsOnTheReactiveDecoder() throws Exception {
		keycloakServesKeys();
		String rs512 = signed(new JWSHeader.Builder(JWSAlgorithm.RS512).keyID("k1"), (claims) -> claims, key);
		String rs256 = rs256((claims) -> claims);
		new ReactiveWebApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class, JwtDecoderAutoConfiguration.class))
			.withPropertyValues("spring.security.oauth2.resourceserver.jwt.issuer-uri=" + issuer(),
					"spring.security.oauth2.resourceserver.jwt.jwk-set-uri=" + keycloak.baseUrl() + CERTS,
					"spring.security.oauth2.resourceserver.jwt.jws-algorithms=RS256,RS512")
			.run((context) -> {
				context.getBean(ResilientJwkSetSource.class).refreshNow();
				ReactiveJwtDecoder decoder = context.getBean(ReactiveJwtDecoder.class);
				assertThat(decodes(decoder, Map.of("rs256", rs256, "rs512", rs512)))
					.containsEntry("rs256", 200)
					.containsEntry("rs512", 200);
			});
	}

	@Test
	void leavesBootsPublicKeyDecoderAlone() throws Exception {
		java.nio.file.Path pem = java.nio.file.Files.createTempFile("public", ".pem");
		java.nio.file.Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
				+ java.util.Base64.getMimeEncoder().encodeToString(key.toRSAPublicKey().getEncoded())
				+ "\n-----END PUBLIC KEY-----\n", StandardCharsets.US_ASCII);
		ConfigurableApplicationContext app = new SpringApplicationBuilder(ResourceServer.class).run("--server.port=0",
				"--server.address=127.0.0.1",
				"--spring.security.oauth2.resourceserver.jwt.public-key-location=file:" + pem);
		this.apps.add(app);
		assertThat(app.getBeansOfType(ResilientJwkSetSource.class)).isEmpty();
		assertThat(app.getBean(JwtDecoder.class).decode(rs256((claims) -> claims)).getSubject()).isEqualTo("ada");
	}

	@Test
	void keepsBootsDecoderAndSaysSoWhenTheApplicationCustomizesItsBuilder(CapturedOutput output) {
		keycloakServesKeys();
		new WebApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
					JwtDecoderAutoConfiguration.class, bootServletResourceServerAutoConfiguration()))
			.withUserConfiguration(ServletSecurity.class)
			.withBean(JwkSetUriJwtDecoderBuilderCustomizer.class, () -> (builder) -> builder.jwsAlgorithm(SignatureAlgorithm.RS256))
			.withPropertyValues(resourceServerProperties())
			.run((context) -> {
				assertThat(context).doesNotHaveBean(ResilientJwkSetSource.class).hasSingleBean(JwtDecoder.class);
				assertThat(output).contains("event=jwt_decoder_not_protected");
			});
	}

	// Boot 4.1 moved the reactive resource server's filter chain into an auto-configuration of its own.
	private static Class<?>[] bootReactiveResourceServerWebSecurity() {
		String name = "org.springframework.boot.security.oauth2.server.resource.autoconfigure.web.reactive."
				+ "ReactiveOAuth2ResourceServerWebSecurityAutoConfiguration";
		ClassLoader loader = TokenRulesParityTests.class.getClassLoader();
		return org.springframework.util.ClassUtils.isPresent(name, loader)
				? new Class<?>[] { org.springframework.util.ClassUtils.resolveClassName(name, loader) } : new Class<?>[0];
	}

	// Boot 4.0 keeps it in a servlet package, Boot 4.1 one level up: the test runs on both.
	private static Class<?> bootServletResourceServerAutoConfiguration() {
		String prefix = "org.springframework.boot.security.oauth2.server.resource.autoconfigure.";
		ClassLoader loader = TokenRulesParityTests.class.getClassLoader();
		String name = org.springframework.util.ClassUtils.isPresent(prefix + "OAuth2ResourceServerAutoConfiguration", loader)
				? prefix + "OAuth2ResourceServerAutoConfiguration" : prefix + "servlet.OAuth2ResourceServerAutoConfiguration";
		return org.springframework.util.ClassUtils.resolveClassName(name, loader);
	}

	private ConfigurableApplicationContext startServlet(boolean starter) {
		String[] properties = resourceServerProperties();
		for (int i = 0; i < properties.length; i++) {
			properties[i] = "--" + properties[i];
		}
		return startServlet(starter, properties);
	}

	private ConfigurableApplicationContext startServlet(boolean starter, String... properties) {
		List<String> args = new ArrayList<>(List.of("--server.port=0", "--server.address=127.0.0.1",
				"--tis.resilience.enabled=" + starter));
		args.addAll(List.of(properties));
		ConfigurableApplicationContext app = new SpringApplicationBuilder(ResourceServer.class, TenantRule.class)
			.run(args.toArray(String[]::new));
		this.apps.add(app);
		assertThat(app.getBeansOfType(ResilientJwkSetSource.class)).hasSize(starter ? 1 : 0);
		if (starter) {
			app.getBean(ResilientJwkSetSource.class).refreshNow();
		}
		return app;
	}

	private static Map<String, Integer> answers(ConfigurableApplicationContext app, Map<String, String> tokens) {
		int port = ((WebServerApplicationContext) app).getWebServer().getPort();
		RestClient client = RestClient.create("http://127.0.0.1:" + port);
		Map<String, Integer> answers = new LinkedHashMap<>();
		tokens.forEach((name, token) -> answers.put(name, client.get()
			.uri("/api/me")
			.header("Authorization", "Bearer " + token)
			.retrieve()
			.onStatus((status) -> true, (request, response) -> {
			})
			.toBodilessEntity()
			.getStatusCode()
			.value()));
		return answers;
	}

	private static Map<String, Integer> decodes(ReactiveJwtDecoder decoder, Map<String, String> tokens) {
		Map<String, Integer> answers = new LinkedHashMap<>();
		tokens.forEach((name, token) -> {
			int answer;
			try {
				answer = (decoder.decode(token).block() != null) ? 200 : 500;
			}
			catch (JwtException ex) {
				answer = 401;
			}
			answers.put(name, answer);
		});
		return answers;
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration
	@RestController
	static class ResourceServer {

		@GetMapping("/api/me")
		String me(java.security.Principal principal) {
			return principal.getName();
		}

	}

	@org.springframework.security.config.annotation.web.configuration.EnableWebSecurity
	static class ServletSecurity {

	}

	@org.springframework.security.config.annotation.web.reactive.EnableWebFluxSecurity
	static class WebFluxSecurity {

	}

	/** The application's own rule, declared the way Boot documents: a validator bean. */
	static class TenantRule {

		@Bean
		@Order(1)
		OAuth2TokenValidator<Jwt> tenantValidator() {
			return new JwtClaimValidator<String>("tenant", "hee"::equals);
		}

	}

}
