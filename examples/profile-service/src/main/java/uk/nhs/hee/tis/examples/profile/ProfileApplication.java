package uk.nhs.hee.tis.examples.profile;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A TIS-like Profile service: who the caller is and what they may do. Every other service asks it
 * first, on every request, which is why its outages used to take the whole fleet down. It is a
 * Keycloak resource server like the rest; the starter keeps its token validation up when Keycloak
 * is not.
 */
@SpringBootApplication
public class ProfileApplication {

	public static void main(String[] args) {
		SpringApplication.run(ProfileApplication.class, args);
	}

}
