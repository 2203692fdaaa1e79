package uk.nhs.hee.tis.examples.tcs;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.web.service.registry.HttpServiceGroup.ClientType;
import org.springframework.web.service.registry.ImportHttpServices;

/**
 * A TIS-like service: every {@code /api/**} request is a Keycloak-authenticated request whose
 * caller's permissions are loaded from Profile's userinfo first, as tcs does; trainee results are
 * enriched with site names from Reference (called with WebClient, Profile with RestClient); the grade sync calls Reference with tcs's own
 * service-account token. {@code /api/status} touches no downstream. Nothing in the code depends on
 * the starter: it is one dependency, a few lines of application.yml and {@code @Fallback}s.
 */
@SpringBootApplication
@ImportHttpServices(group = "profile", types = ProfileClient.class)
@ImportHttpServices(group = "reference", types = ReferenceClient.class, clientType = ClientType.WEB_CLIENT)
public class TcsApplication {

	public static void main(String[] args) {
		SpringApplication.run(TcsApplication.class, args);
	}

}
